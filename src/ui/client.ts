/**
 * The browser side of the UI: one HTML shell for every page and a plain script that renders the page named by
 * the URL from the REST API, and renders it again when the server's event stream says the application changed.
 * It is shipped as text (no bundler, nothing for a user to build); the DAG layout is dagre's, loaded from
 * node_modules by the server. The script avoids backquotes and `${`: it lives in a template string here.
 */

/** The page shell; the script fills `#content`. */
export function pageHtml(o: { killEnabled: boolean; historyIndex?: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kindling UI</title>
<link rel="stylesheet" href="/static/kindling-ui.css">
<script src="/static/dagre.min.js" defer></script>
<script src="/static/kindling-streaming.js" defer></script>
<script src="/static/kindling-ui.js" defer></script>
</head><body data-kill-enabled="${o.killEnabled}" data-history-index="${o.historyIndex === true}">
<nav id="nav"><span class="brand">kindling</span>
<a data-page="jobs" href="jobs/">Jobs</a><a data-page="stages" href="stages/">Stages</a><a data-page="storage" href="storage/">Storage</a>
<a data-page="executors" href="executors/">Executors</a><a data-page="environment" href="environment/">Environment</a><a data-page="streaming" href="streaming/">Streaming</a>
<span id="app-name"></span><span id="live" title="live updates"></span></nav>
<main id="content">Loading...</main>
</body></html>`;
}

export const CLIENT_CSS = String.raw`
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
nav { background: #2b3a4a; padding: 8px 16px; display: flex; gap: 16px; align-items: center; }
nav a { color: #dde; text-decoration: none; } nav a.active { color: #fff; font-weight: 600; border-bottom: 2px solid #f90; }
nav .brand { color: #f90; font-weight: 700; margin-right: 12px; }
#app-name { margin-left: auto; color: #bbc; } #live { width: 10px; height: 10px; border-radius: 5px; background: #777; }
#live.on { background: #4c4; }
main { padding: 12px 20px; }
h2 { font-size: 20px; margin: 12px 0 6px; } h3 { font-size: 16px; margin: 16px 0 6px; }
table { border-collapse: collapse; margin: 6px 0 12px; min-width: 50%; }
th, td { border: 1px solid #ccd; padding: 3px 8px; text-align: left; font-variant-numeric: tabular-nums; }
th { background: #eef; } th.sortable { cursor: pointer; } th.sorted-asc::after { content: ' \25B2'; } th.sorted-desc::after { content: ' \25BC'; }
.status-RUNNING, .status-ACTIVE { color: #06c; } .status-SUCCEEDED, .status-COMPLETE, .status-SUCCESS { color: #080; }
.status-FAILED, .status-KILLED { color: #c00; } .status-SKIPPED, .status-PENDING { color: #888; }
.bar { background: #dde; width: 160px; height: 14px; position: relative; border-radius: 3px; overflow: hidden; }
.bar .done { background: #7b7; height: 100%; } .bar .run { background: #8bd; height: 100%; position: absolute; top: 0; }
.skew { background: #fee; border: 1px solid #c66; padding: 6px 10px; margin: 8px 0; }
.dag { max-width: 100%; overflow-x: auto; } .dag svg { border: 1px solid #ccd; background: #fcfcff; }
.dag .stage rect { fill: #eef3fa; stroke: #579; stroke-width: 1.5; } .dag .stage text.label { font-weight: 600; fill: #357; }
.dag .rdd rect { fill: #fff; stroke: #888; } .dag .rdd.cached rect { fill: #cfc; stroke: #3a3; } .dag text { font-size: 11px; }
.dag path.edge { fill: none; stroke: #555; stroke-width: 1.2; } .dag path.edge.shuffle { stroke: #c60; stroke-width: 2; stroke-dasharray: 5 3; }
.timeline rect.job { fill: #8bd; } .timeline rect.job.FAILED { fill: #e88; } .timeline rect.job.SUCCEEDED { fill: #7b7; }
.timeline line.worker-added { stroke: #393; } .timeline line.worker-removed { stroke: #c33; stroke-width: 2; }
.muted { color: #888; } button.kill { color: #c00; font-size: 11px; }
`;

export const CLIENT_JS = String.raw`
'use strict';
(function () {
  var path = location.pathname;
  var hm = /^\/history\/([^/]+)(\/.*)$/.exec(path);
  var base = hm ? '/history/' + hm[1] : '';
  var page = hm ? hm[2] : path;
  var killEnabled = document.body.dataset.killEnabled === 'true';
  var params = new URLSearchParams(location.search);
  var appId = hm ? decodeURIComponent(hm[1]) : null;
  var api = null;
  var sortState = { key: 'index', dir: 1 };

  function h(s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  // shipped: runs in the browser (this is the UI's client script), where no kindling class exists
function get(p) {
    return fetch(api + p).then(function (r) {
      if (r.ok) return r.json();
      // The API says what is wrong (unknown job 7, a malformed parameter) in its JSON body.
      // shipped: runs in the browser, where the page shows the message
      return r.json().then(function (b) { return b && b.error; }, function () { return ''; }).then(function (m) { throw new Error(p + ': ' + r.status + (m ? ' ' + m : '')); });
    });
  }
  // Ids from the page's address go into API paths as one segment each, whatever they hold.
  function seg(v) { return encodeURIComponent(v == null ? '' : v); }
  function t(d) { return d ? new Date(d.replace('GMT', 'Z')).toLocaleTimeString() : ''; }
  function ms(x) { if (x == null) return ''; if (x < 1000) return Math.round(x) + ' ms'; if (x < 60000) return (x / 1000).toFixed(1) + ' s'; return (x / 60000).toFixed(1) + ' min'; }
  function dur(a, b) { if (!a) return ''; var e = b ? Date.parse(b.replace('GMT', 'Z')) : Date.now(); return ms(e - Date.parse(a.replace('GMT', 'Z'))); }
  function bytes(b) { if (!b) return '0 B'; var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB']; var i = 0; while (b >= 1024 && i < 4) { b /= 1024; i++; } return b.toFixed(i ? 1 : 0) + ' ' + u[i]; }
  function status(s) { return '<span class="status-' + h(s) + '">' + h(s) + '</span>'; }
  function bar(done, running, total) {
    var d = total ? 100 * done / total : 0, r = total ? 100 * running / total : 0;
    return '<div class="bar" title="' + done + '/' + total + (running ? ' (' + running + ' running)' : '') + '"><div class="done" style="width:' + d + '%"></div><div class="run" style="left:' + d + '%;width:' + r + '%"></div></div> ' + done + '/' + total;
  }
  function table(cols, rows, attrs) {
    return '<table ' + (attrs || '') + '><thead><tr>' + cols.map(function (c) { return '<th>' + c + '</th>'; }).join('') + '</tr></thead><tbody>' +
      rows.map(function (r) { return '<tr>' + r.map(function (c) { return '<td>' + c + '</td>'; }).join('') + '</tr>'; }).join('') + '</tbody></table>';
  }
  function link(p, text) { return '<a href="' + base + p + '">' + text + '</a>'; }

  function jobRows(jobs) {
    return jobs.map(function (j) {
      var kill = killEnabled && j.status === 'RUNNING' ? ' <button class="kill" data-job="' + j.jobId + '">kill</button>' : '';
      var named = j.description !== j.name ? h(j.description) + '<br><span class="muted">' + h(j.name) + '</span>' : h(j.description);
      return [j.jobId, link('/jobs/job/?id=' + j.jobId, named) + kill, t(j.submissionTime), dur(j.submissionTime, j.completionTime),
        j.numCompletedStages + '/' + (j.stageIds.length - j.numSkippedStages) + (j.numSkippedStages ? ' (' + j.numSkippedStages + ' skipped)' : ''),
        bar(j.numCompletedTasks, j.numActiveTasks, j.numTasks - j.numSkippedTasks), status(j.status)];
    });
  }
  var JOB_COLS = ['Job Id', 'Description', 'Submitted', 'Duration', 'Stages: Succeeded/Total', 'Tasks: Succeeded/Total', 'Status'];

  function timeline(jobs, execs) {
    var times = [];
    jobs.forEach(function (j) { times.push(Date.parse(j.submissionTime.replace('GMT', 'Z'))); if (j.completionTime) times.push(Date.parse(j.completionTime.replace('GMT', 'Z'))); });
    execs.forEach(function (e) { times.push(Date.parse(e.addTime.replace('GMT', 'Z'))); if (e.removeTime) times.push(Date.parse(e.removeTime.replace('GMT', 'Z'))); });
    if (times.length === 0) return '';
    var t0 = Math.min.apply(null, times), t1 = Math.max(Math.max.apply(null, times), Date.now() - 0), W = 900, rowH = 14;
    var shown = jobs.slice(0, 40).reverse();
    var H = 30 + shown.length * rowH + 20;
    var x = function (v) { return 10 + (W - 20) * (v - t0) / Math.max(1, t1 - t0); };
    var out = '<svg class="timeline" width="' + W + '" height="' + H + '">';
    execs.forEach(function (e) {
      var a = x(Date.parse(e.addTime.replace('GMT', 'Z')));
      out += '<line class="worker-added" x1="' + a + '" x2="' + a + '" y1="0" y2="' + H + '"><title>worker ' + h(e.id) + ' added</title></line>';
      if (e.removeTime) { var r = x(Date.parse(e.removeTime.replace('GMT', 'Z'))); out += '<line class="worker-removed" x1="' + r + '" x2="' + r + '" y1="0" y2="' + H + '"><title>worker ' + h(e.id) + ' removed: ' + h(e.removeReason) + '</title></line>'; }
    });
    shown.forEach(function (j, i) {
      var a = x(Date.parse(j.submissionTime.replace('GMT', 'Z'))), b = j.completionTime ? x(Date.parse(j.completionTime.replace('GMT', 'Z'))) : x(Date.now());
      out += '<rect class="job ' + j.status + '" x="' + a + '" y="' + (20 + i * rowH) + '" width="' + Math.max(2, b - a) + '" height="' + (rowH - 3) + '"><title>job ' + j.jobId + ': ' + h(j.description) + '</title></rect>';
    });
    out += '<text x="10" y="12" font-size="11">' + new Date(t0).toLocaleTimeString() + '</text><text x="' + (W - 80) + '" y="12" font-size="11">' + new Date(t1).toLocaleTimeString() + '</text>';
    return out + '</svg>';
  }

  var pages = {
    '/jobs/': function () {
      return Promise.all([get('/jobs'), get('/allexecutors')]).then(function (r) {
        var jobs = r[0];
        var groups = [['Active Jobs', 'RUNNING', 'active-jobs'], ['Completed Jobs', 'SUCCEEDED', 'completed-jobs'], ['Failed Jobs', 'FAILED', 'failed-jobs']];
        var html = '<h2>Jobs</h2><h3>Event Timeline</h3>' + timeline(jobs, r[1]);
        groups.forEach(function (g) {
          var js = jobs.filter(function (j) { return j.status === g[1]; });
          html += '<h3>' + g[0] + ' (' + js.length + ')</h3>' + (js.length ? table(JOB_COLS, jobRows(js), 'id="' + g[2] + '"') : '');
        });
        return html;
      });
    },
    '/jobs/job/': function () {
      var id = params.get('id');
      return Promise.all([get('/jobs/' + seg(id)), get('/stages')]).then(function (r) {
        var j = r[0];
        var stages = r[1].filter(function (s) { return s.jobIds.indexOf(j.jobId) >= 0 || j.stageIds.indexOf(s.stageId) >= 0; });
        var html = '<h2>Details for Job ' + j.jobId + '</h2><p>' + h(j.description) + (j.name !== j.description ? ' (' + h(j.name) + ')' : '') + '<br>Status: ' + status(j.status) + ' &middot; Submitted ' + t(j.submissionTime) + ' &middot; Duration ' + dur(j.submissionTime, j.completionTime) + (j.failureReason ? '<br>Failure: ' + h(j.failureReason) : '') + '</p>';
        html += '<h3>DAG Visualization</h3><div class="dag" id="dag"></div>';
        html += '<h3>Stages</h3>' + stageTable(stages.filter(function (s) { return j.stageIds.indexOf(s.stageId) >= 0; }), j);
        return { html: html, after: function () { drawDag(document.getElementById('dag'), j); } };
      });
    },
    '/stages/': function () {
      return get('/stages').then(function (stages) { return '<h2>Stages for All Jobs (' + stages.length + ')</h2>' + stageTable(stages); });
    },
    '/stages/stage/': function () {
      var id = params.get('id'), attempt = params.get('attempt') || 0;
      return Promise.all([get('/stages/' + seg(id) + '/' + seg(attempt)), get('/stages/' + seg(id) + '/' + seg(attempt) + '/taskList?length=10000')]).then(function (r) { return stagePage(r[0], r[1]); });
    },
    '/storage/': function () {
      return get('/storage/rdd').then(function (rdds) {
        return '<h2>Storage</h2><h3>RDDs (' + rdds.length + ')</h3>' + table(['ID', 'RDD Name', 'Storage Level', 'Cached Partitions', 'Fraction Cached', 'Size in Memory', 'Size on Disk'],
          rdds.map(function (d) { return [d.id, link('/storage/rdd/?id=' + d.id, h(d.name)), h(d.storageLevel), d.numCachedPartitions + '/' + d.numPartitions, Math.round(100 * d.numCachedPartitions / Math.max(1, d.numPartitions)) + '%', bytes(d.memoryUsed), bytes(d.diskUsed)]; }), 'id="rdds"');
      });
    },
    '/storage/rdd/': function () {
      return get('/storage/rdd/' + seg(params.get('id'))).then(function (d) {
        return '<h2>RDD Storage Info for ' + h(d.name) + '</h2><p>Storage level: ' + h(d.storageLevel) + ' &middot; Cached partitions: ' + d.numCachedPartitions + '/' + d.numPartitions + ' &middot; Memory: ' + bytes(d.memoryUsed) + ' &middot; Disk: ' + bytes(d.diskUsed) + '</p>' +
          '<h3>Data Distribution on Executors</h3>' + table(['Executor ID', 'Address', 'Memory', 'Disk'], d.dataDistribution.map(function (x) { return [h(x.executorId), h(x.address), bytes(x.memoryUsed), bytes(x.diskUsed)]; })) +
          '<h3>Partitions (' + d.partitions.length + ')</h3>' + table(['Block Name', 'Storage Level', 'Size in Memory', 'Size on Disk', 'Executors'], d.partitions.map(function (p) { return [h(p.blockName), h(p.storageLevel), bytes(p.memoryUsed), bytes(p.diskUsed), h(p.executors.join(', '))]; }), 'id="partitions"');
      });
    },
    '/executors/': function () {
      return get('/allexecutors').then(function (ex) {
        var rows = ex.map(function (e) {
          return [h(e.id), e.kindlingWorkerIndex, h(e.hostPort), e.isActive ? status('Active').replace('status-Active', 'status-SUCCEEDED') : '<span class="status-FAILED">Dead</span>' + (e.removeReason ? ' <span class="muted">(' + h(e.removeReason) + ')</span>' : ''),
            e.rddBlocks, bytes(e.memoryUsed) + ' / ' + bytes(e.maxMemory), bytes(e.diskUsed), e.activeTasks, e.failedTasks, e.completedTasks, e.totalTasks, ms(e.totalDuration) + ' (' + ms(e.totalGCTime) + ' GC)', bytes(e.totalShuffleRead), bytes(e.totalShuffleWrite)];
        });
        return '<h2>Executors</h2><p>Executors of this application (worker threads, or task slots of executor processes); a replaced worker is a new executor in the same worker slot, the dead one stays listed.</p>' + table(['Executor ID', 'Worker', 'Address', 'Status', 'RDD Blocks', 'Storage Memory', 'Disk Used', 'Active Tasks', 'Failed Tasks', 'Complete Tasks', 'Total Tasks', 'Task Time (GC Time)', 'Shuffle Read', 'Shuffle Write'], rows, 'id="executors"');
      });
    },
    '/environment/': function () {
      return get('/environment').then(function (env) {
        var rt = env.runtime;
        return '<h2>Environment</h2><h3>Runtime Information</h3>' + table(['Name', 'Value'], [['Node.js', h(rt.nodeVersion)], ['kindling', h(rt.kindlingVersion)]]) +
          '<h3>kindling Properties</h3>' + table(['Name', 'Value'], env.sparkProperties.map(function (p) { return [h(p[0]), h(p[1])]; }), 'id="properties"') +
          '<h3>System Properties</h3>' + table(['Name', 'Value'], env.systemProperties.map(function (p) { return [h(p[0]), h(p[1])]; }));
      });
    },
  };

  function stageTable(stages, job) {
    return table(['Stage Id', 'Description', 'Submitted', 'Duration', 'Tasks: Succeeded/Total', 'Shuffle Read', 'Shuffle Write', 'Status'], stages.map(function (s) {
      var st = job && job.kindlingStageStatus ? job.kindlingStageStatus[s.stageId] || s.status : s.status;
      return [s.stageId + (s.attemptId ? ' (retry ' + s.attemptId + ')' : ''), link('/stages/stage/?id=' + s.stageId + '&attempt=' + s.attemptId, h(s.name)) + (s.kindlingSkew ? ' <span class="status-FAILED">skewed</span>' : ''),
        t(s.submissionTime), dur(s.submissionTime, s.completionTime), bar(s.numCompleteTasks, s.numActiveTasks, s.numTasks), bytes(s.shuffleReadBytes), bytes(s.shuffleWriteBytes), status(st)];
    }), 'class="stages"');
  }

  var QUANTILE_ROWS = [['duration', 'Duration', ms], ['executorRunTime', 'Run Time', ms], ['executorDeserializeTime', 'Compile Time', ms], ['jvmGcTime', 'GC Time', ms],
    ['fetchWaitTime', 'Shuffle Fetch Wait', ms], ['inputRecords', 'Input Records', String], ['inputBytes', 'Input Size', bytes], ['shuffleReadRecords', 'Shuffle Read Records', String], ['shuffleReadBytes', 'Shuffle Read Size', bytes],
    ['shuffleWriteRecords', 'Shuffle Write Records', String], ['shuffleWriteBytes', 'Shuffle Write Size', bytes], ['outputRecords', 'Output Records', String], ['outputBytes', 'Output Size', bytes],
    ['memoryBytesSpilled', 'Spill (Memory)', bytes], ['diskBytesSpilled', 'Spill (Disk)', bytes], ['resultRecords', 'Result Records', String], ['resultSize', 'Result Size', bytes]];
  var Q_KEYS = { duration: 'durationMs', executorRunTime: 'runMs', executorDeserializeTime: 'compileMs', jvmGcTime: 'gcMs', fetchWaitTime: 'fetchWaitMs', inputRecords: 'inputRecords', inputBytes: 'inputBytes', shuffleReadRecords: 'shuffleReadRecords', shuffleReadBytes: 'shuffleReadBytes', shuffleWriteRecords: 'shuffleWriteRecords', shuffleWriteBytes: 'shuffleWriteBytes', outputRecords: 'outputRecords', outputBytes: 'outputBytes', memoryBytesSpilled: 'memoryBytesSpilled', diskBytesSpilled: 'diskBytesSpilled', resultRecords: 'resultRecords', resultSize: 'resultBytes' };

  var TASK_COLS = [['index', 'Index'], ['taskId', 'Task Id'], ['attempt', 'Attempt'], ['status', 'Status'], ['taskLocality', 'Locality'], ['executorId', 'Executor ID'], ['launchTime', 'Launch Time'],
    ['duration', 'Duration'], ['run', 'Run Time'], ['gc', 'GC Time'], ['read', 'Shuffle Read Records'], ['write', 'Shuffle Write Records'], ['errorMessage', 'Error']];
  function taskValue(task, k) {
    var m = task.taskMetrics && task.taskMetrics.kindling;
    if (k === 'run') return m ? m.runMs : -1; if (k === 'gc') return m ? m.gcMs : -1; if (k === 'read') return m ? m.shuffleReadRecords : -1; if (k === 'write') return m ? m.shuffleWriteRecords : -1;
    return task[k];
  }
  function taskRows(tasks) {
    var k = sortState.key, d = sortState.dir;
    var sorted = tasks.slice().sort(function (a, b) { var x = taskValue(a, k), y = taskValue(b, k); return (x < y ? -1 : x > y ? 1 : 0) * d; });
    return sorted.map(function (task) {
      var m = task.taskMetrics && task.taskMetrics.kindling;
      return [task.index, task.taskId, task.attempt + (task.speculative ? ' (speculative)' : ''), status(task.status), h(task.taskLocality), h(task.executorId), t(task.launchTime), ms(task.duration),
        m ? ms(m.runMs) : '', m ? ms(m.gcMs) : '', m ? m.shuffleReadRecords : '', m ? m.shuffleWriteRecords : '', h(task.errorMessage || '')];
    });
  }
  function taskTable(tasks) {
    var head = '<table id="tasks"><thead><tr>' + TASK_COLS.map(function (c) {
      var cls = 'sortable' + (sortState.key === c[0] ? (sortState.dir > 0 ? ' sorted-asc' : ' sorted-desc') : '');
      return '<th class="' + cls + '" data-sort="' + c[0] + '">' + c[1] + '</th>';
    }).join('') + '</tr></thead><tbody>';
    return head + taskRows(tasks).map(function (r) { return '<tr>' + r.map(function (c) { return '<td>' + c + '</td>'; }).join('') + '</tr>'; }).join('') + '</tbody></table>';
  }
  function stagePage(s, tasks) {
    var q = s.kindlingTaskQuantiles;
    var html = '<h2>Details for Stage ' + s.stageId + ' (Attempt ' + s.attemptId + ')</h2><p>' + h(s.name) + '<br>Status: ' + status(s.status) + ' &middot; Tasks: ' + s.numCompleteTasks + '/' + s.numTasks +
      (s.numFailedTasks ? ' (' + s.numFailedTasks + ' failed)' : '') + ' &middot; Run time total: ' + ms(s.executorRunTime) + ' &middot; Shuffle read: ' + bytes(s.shuffleReadBytes) + ' / ' + s.shuffleReadRecords + ' records &middot; Shuffle write: ' + bytes(s.shuffleWriteBytes) + ' / ' + s.shuffleWriteRecords + ' records' +
      (s.inputRecords ? ' &middot; Input: ' + bytes(s.inputBytes) + ' / ' + s.inputRecords + ' records' : '') + (s.outputRecords ? ' &middot; Output: ' + bytes(s.outputBytes) + ' / ' + s.outputRecords + ' records' : '') +
      (s.memoryBytesSpilled || s.diskBytesSpilled ? ' &middot; Spill (memory): ' + bytes(s.memoryBytesSpilled) + ' &middot; Spill (disk): ' + bytes(s.diskBytesSpilled) : '') +
      (s.failureReason ? '<br>Failure: ' + h(s.failureReason) : '') + '</p>';
    if (s.kindlingSkew) {
      var k = s.kindlingSkew;
      html += '<div class="skew" id="skew"><b>Skewed stage:</b> partition ' + k.partition + ' computed ' + ms(k.runMs) + ' (median ' + ms(k.medianMs) + ') over ' + k.records + ' records (median ' + k.medianRecords + ')' +
        (k.keySample.length ? '; keys ' + h(k.keySample.join(', ')) : '') + '. Repartition, or salt the hot key.</div>';
    }
    html += '<h3>Summary Metrics for ' + s.numCompleteTasks + ' Completed Tasks</h3>';
    if (q) {
      html += table(['Metric', 'Min', '25th percentile', 'Median', '75th percentile', 'Max'], QUANTILE_ROWS.map(function (r) {
        var v = q[Q_KEYS[r[0]]]; return [r[1]].concat(v.map(function (x) { return r[2](x); }));
      }), 'id="quantiles"');
    } else html += '<p class="muted">No completed tasks yet.</p>';
    html += '<h3>Tasks (' + tasks.length + ')</h3><div id="task-table">' + taskTable(tasks) + '</div>';
    return { html: html, after: function () {
      var holder = document.getElementById('task-table');
      holder.addEventListener('click', function (ev) {
        var th = ev.target.closest('th[data-sort]'); if (!th) return;
        var key = th.dataset.sort; sortState = { key: key, dir: sortState.key === key ? -sortState.dir : 1 };
        holder.innerHTML = taskTable(tasks);
      });
    } };
  }

  function drawDag(el, job) {
    if (!window.dagre || !job.kindlingStages) { el.textContent = 'DAG unavailable'; return; }
    var g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
    g.setGraph({ rankdir: 'LR', nodesep: 18, ranksep: 40, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () { return {}; });
    var owner = {};
    job.kindlingStages.forEach(function (s) { s.rdds.forEach(function (r) { owner[r.id] = s.stageId; }); });
    job.kindlingStages.forEach(function (s) {
      g.setNode('stage' + s.stageId, { label: 'Stage ' + s.stageId, clusterLabelPos: 'top', paddingTop: 24, paddingLeft: 10, paddingRight: 10, paddingBottom: 10 });
      s.rdds.forEach(function (r) {
        var label = r.name.length > 28 ? r.name.slice(0, 27) + '\u2026' : r.name;
        g.setNode('rdd' + s.stageId + '_' + r.id, { label: label, full: '[' + r.id + '] ' + r.name, width: Math.max(90, label.length * 6.4 + 16), height: 26, cached: r.storageLevel !== 'NONE', rddId: r.id });
        g.setParent('rdd' + s.stageId + '_' + r.id, 'stage' + s.stageId);
      });
    });
    var shuffles = [];
    job.kindlingStages.forEach(function (s) {
      s.rdds.forEach(function (r) {
        r.parentIds.forEach(function (p) {
          var inStage = s.rdds.some(function (x) { return x.id === p; });
          if (inStage) g.setEdge('rdd' + s.stageId + '_' + p, 'rdd' + s.stageId + '_' + r.id, { shuffle: false });
          else {
            var from = s.parentIds.filter(function (ps) { var st = job.kindlingStages.find(function (x) { return x.stageId === ps; }); return st && st.rdds.some(function (x) { return x.id === p; }); })[0];
            if (from !== undefined) { g.setEdge('rdd' + from + '_' + p, 'rdd' + s.stageId + '_' + r.id, { shuffle: true, fromStage: from, toStage: s.stageId }); shuffles.push([from, s.stageId]); }
          }
        });
      });
    });
    dagre.layout(g);
    var gg = g.graph();
    var svg = '<svg width="' + Math.ceil(gg.width + 4) + '" height="' + Math.ceil(gg.height + 4) + '"><defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>';
    job.kindlingStages.forEach(function (s) {
      var n = g.node('stage' + s.stageId);
      var st = job.kindlingStageStatus ? job.kindlingStageStatus[s.stageId] : '';
      svg += '<g class="stage ' + h(st) + '" data-stage-id="' + s.stageId + '"><rect x="' + (n.x - n.width / 2) + '" y="' + (n.y - n.height / 2) + '" width="' + n.width + '" height="' + n.height + '" rx="6"/>' +
        '<text class="label" x="' + (n.x - n.width / 2 + 8) + '" y="' + (n.y - n.height / 2 + 16) + '">Stage ' + s.stageId + (st === 'SKIPPED' ? ' (skipped)' : '') + '</text></g>';
    });
    g.edges().forEach(function (e) {
      var ed = g.edge(e);
      var d = ed.points.map(function (p, i) { return (i ? 'L' : 'M') + p.x.toFixed(1) + ',' + p.y.toFixed(1); }).join(' ');
      svg += '<path class="edge' + (ed.shuffle ? ' shuffle' : '') + '"' + (ed.shuffle ? ' data-from-stage="' + ed.fromStage + '" data-to-stage="' + ed.toStage + '"' : '') + ' d="' + d + '" marker-end="url(#arrow)"/>';
    });
    g.nodes().forEach(function (id) {
      if (id.indexOf('rdd') !== 0) return;
      var n = g.node(id);
      svg += '<g class="rdd' + (n.cached ? ' cached' : '') + '" data-rdd-id="' + n.rddId + '"><title>' + h(n.full) + '</title><rect x="' + (n.x - n.width / 2) + '" y="' + (n.y - n.height / 2) + '" width="' + n.width + '" height="' + n.height + '" rx="4"/>' +
        '<text x="' + n.x + '" y="' + (n.y + 4) + '" text-anchor="middle">' + h(n.label) + '</text></g>';
    });
    el.innerHTML = svg + '</svg><p class="muted">Boxes are stages with their RDDs; dashed edges are shuffles; green RDDs are cached.</p>';
  }

  function historyIndex() {
    return fetch('/api/v1/applications').then(function (r) { return r.json(); }).then(function (apps) {
      var rows = apps.map(function (a) { var at = a.attempts[0]; return ['<a href="/history/' + encodeURIComponent(a.id) + '/jobs/">' + h(a.id) + '</a>', h(a.name), t(at.startTime), at.completed ? t(at.endTime) : '<span class="status-RUNNING">incomplete</span>', at.completed ? ms(at.duration) : '']; });
      document.getElementById('nav').querySelectorAll('a').forEach(function (a) { a.style.display = 'none'; });
      document.getElementById('content').innerHTML = '<h2>History</h2>' + table(['App ID', 'App Name', 'Started', 'Completed', 'Duration'], rows, 'id="applications"');
    });
  }

  // Pages in their own scripts (streaming-client.ts) register here, and get the helpers they share.
  var extra = window.kindlingPages || {};
  Object.keys(extra).forEach(function (k) { pages[k] = function () { return extra[k]({ get: get, h: h, table: table, ms: ms, status: status }); }; });

  var rendering = false, again = false;
  function render() {
    if (rendering) { again = true; return; }
    rendering = true;
    var fn = pages[page];
    var p = fn ? fn() : Promise.resolve('<p>Unknown page ' + h(page) + '</p>');
    p.then(function (out) {
      var content = document.getElementById('content');
      // Keep the reader's place and a task-table sort across live refreshes.
      var y = window.scrollY;
      content.innerHTML = typeof out === 'string' ? out : out.html;
      if (typeof out !== 'string' && out.after) out.after();
      window.scrollTo(0, y);
      document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
    }).catch(function (e) {
      document.getElementById('content').innerHTML = '<p class="status-FAILED">' + h(e.message) + '</p>';
      // An answer too (an unknown job's page): what waits for the page's first rendering must not wait forever.
      document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
    }).then(function () { rendering = false; if (again) { again = false; render(); } });
  }

  function start() {
    document.querySelectorAll('#nav a').forEach(function (a) {
      a.setAttribute('href', base + '/' + a.getAttribute('href'));
      if (page.indexOf('/' + a.dataset.page + '/') === 0) a.classList.add('active');
    });
    document.getElementById('content').addEventListener('click', function (ev) {
      var b = ev.target.closest('button.kill'); if (!b) return;
      if (confirm('Kill job ' + b.dataset.job + '?')) fetch('/kindling/kill?id=' + b.dataset.job, { method: 'POST' });
    });
    render();
    var es = new EventSource('/kindling/stream?app=' + encodeURIComponent(appId));
    var live = document.getElementById('live');
    es.onopen = function () { live.classList.add('on'); };
    es.onerror = function () { live.classList.remove('on'); };
    var first = true;
    es.onmessage = function () { if (first) { first = false; return; } render(); };
  }

  if (document.body.dataset.historyIndex === 'true') { historyIndex(); return; }
  var appP = appId ? Promise.resolve(appId) : fetch('/api/v1/applications').then(function (r) { return r.json(); }).then(function (a) { return a[0].id; });
  appP.then(function (id) {
    appId = id; api = '/api/v1/applications/' + encodeURIComponent(id);
    fetch(api).then(function (r) { return r.json(); }).then(function (a) { document.getElementById('app-name').textContent = a.name + ' \u00b7 ' + a.id + (a.attempts[0].completed ? ' (completed)' : ''); });
    start();
  });
})();
`;

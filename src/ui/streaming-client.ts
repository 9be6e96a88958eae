/**
 * The Streaming page's browser script (Spark's Streaming tab): statistics over the retained batches with a
 * timeline per metric (input rate, scheduling delay, processing time against the batch interval, total delay),
 * the receivers with their restarts and last error (Spark's receiver table: a socket that refuses shows here while
 * the batches run on, empty), then the active and completed batches. It registers itself with the UI's client script (client.ts), which
 * renders it live like every page; it reads only the REST API's streaming endpoints. Shipped as text, like
 * client.ts: no backquotes and no `${` inside.
 */
export const STREAMING_JS = String.raw`
'use strict';
(function () {
  function spark(xs, line) {
    var W = 320, H = 48, max = Math.max.apply(null, xs.concat([line || 0, 1]));
    var step = xs.length > 1 ? (W - 4) / (xs.length - 1) : 0;
    var pts = xs.map(function (v, i) { return (2 + i * step).toFixed(1) + ',' + (H - 2 - (H - 6) * v / max).toFixed(1); }).join(' ');
    var out = '<svg class="sparkline" width="' + W + '" height="' + H + '">';
    if (line) { var y = (H - 2 - (H - 6) * line / max).toFixed(1); out += '<line class="interval" x1="0" x2="' + W + '" y1="' + y + '" y2="' + y + '"><title>batch interval</title></line>'; }
    return out + '<polyline points="' + pts + '"/></svg>';
  }
  function num(x) { return x == null ? '' : Math.round(x).toLocaleString('en-US'); }

  window.kindlingPages = window.kindlingPages || {};
  window.kindlingPages['/streaming/'] = function (ui) {
    return Promise.all([ui.get('/streaming/statistics'), ui.get('/streaming/batches'), ui.get('/streaming/receivers')]).then(function (r) {
      var s = r[0], batches = r[1], receivers = r[2];
      var done = batches.filter(function (b) { return b.status === 'COMPLETED'; });
      var active = batches.filter(function (b) { return b.status !== 'COMPLETED'; });
      var series = done.slice(0, 100).reverse();
      var col = function (f) { return series.map(function (b) { return f(b) || 0; }); };
      var html = '<h2>Streaming Statistics</h2><p id="streaming-summary">' + (s.kindlingStopped ? 'Stopped' : 'Running') + ' batches of ' + ui.ms(s.batchDuration) +
        ' since ' + ui.h(s.startTime ? new Date(s.startTime.replace('GMT', 'Z')).toLocaleTimeString() : '') + ' (' + num(s.numTotalCompletedBatches) + ' completed batches, ' +
        num(s.numProcessedRecords) + ' records)</p>';
      html += ui.table(['Metric', 'Average', 'Timeline (last ' + series.length + ' batches)'], [
        ['Input Rate', num(s.avgInputRate) + ' records/s', spark(col(function (b) { return b.kindlingInputRate; }))],
        ['Scheduling Delay', ui.ms(s.avgSchedulingDelay), spark(col(function (b) { return b.schedulingDelay; }))],
        ['Processing Time', ui.ms(s.avgProcessingTime), spark(col(function (b) { return b.processingTime; }), s.batchDuration)],
        ['Total Delay', ui.ms(s.avgTotalDelay), spark(col(function (b) { return b.totalDelay; }))]
      ], 'id="streaming-stats"');
      // The error's text comes from the input (a server's, a user's iterable's): escaped like every name.
      html += '<h3>Receivers (' + receivers.length + ')</h3>' + ui.table(['Receiver', 'Status', 'Restarts', 'Last Error Time', 'Last Error'], receivers.map(function (x) {
        return [ui.h(x.streamName), ui.status(x.isActive ? 'ACTIVE' : 'INACTIVE'), num(x.kindlingRestarts),
          ui.h(x.lastErrorTime ? new Date(x.lastErrorTime.replace('GMT', 'Z')).toLocaleTimeString() : ''),
          ui.h([x.lastErrorMessage, x.lastError].filter(function (m) { return m; }).join(': '))];
      }), 'id="receivers"');
      var cols = ['Batch Time', 'Records', 'Input Rate', 'Scheduling Delay', 'Processing Time', 'Total Delay', 'Output Ops: Succeeded/Total', 'Late', 'Dropped', 'Lag', 'Status'];
      var row = function (b) {
        return [ui.h(new Date(b.batchTime.replace('GMT', 'Z')).toLocaleTimeString()) + ' <span class="muted">#' + b.batchId + '</span>', num(b.inputSize), num(b.kindlingInputRate) + '/s',
          ui.ms(b.schedulingDelay), ui.ms(b.processingTime), ui.ms(b.totalDelay), b.numCompletedOutputOps + '/' + b.numTotalOutputOps,
          num(b.kindlingLateRecords), num(b.kindlingDropped), b.kindlingLag === undefined ? '' : num(b.kindlingLag), b.firstFailureReason ? ui.status('FAILED') + ' ' + ui.h(b.firstFailureReason) : ui.status(b.status)];
      };
      html += '<h3>Active Batches (' + active.length + ')</h3>' + ui.table(cols, active.map(row), 'id="active-batches"');
      html += '<h3>Completed Batches (last ' + done.length + ' out of ' + s.numTotalCompletedBatches + ')</h3>' + ui.table(cols, done.map(row), 'id="completed-batches"');
      return html;
    }, function (e) {
      if (/: 404( |$)/.test(e.message)) return '<h2>Streaming</h2><p id="no-streaming">No StreamingContext has started in this application.</p>';
      throw e;
    });
  };
})();
`;

/** Styles of the Streaming page, added to the UI's stylesheet. */
export const STREAMING_CSS = String.raw`
svg.sparkline polyline { fill: none; stroke: #3a6ea5; stroke-width: 1.5; }
svg.sparkline line.interval { stroke: #c44; stroke-dasharray: 4 3; }
`;

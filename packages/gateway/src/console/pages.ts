/** The console's HTML: a shell the script fills from the live state; nothing from the state is in it. */

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function layout(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<link rel="stylesheet" href="/console/app.css">
${head}
</head>
<body>
${body}
</body>
</html>
`;
}

export function loginPage(error?: string): string {
  return layout(
    'breakwater console — log in',
    `<main class="login">
  <h1>breakwater console</h1>
  <form method="post" action="/console/login">
    <label>Your name <small>(recorded with each action you take)</small>
      <input name="name" autocomplete="username" required maxlength="40" pattern="[A-Za-z0-9 ._@\\-]{1,40}"></label>
    <label>Admin key
      <input name="key" type="password" autocomplete="current-password" required></label>
    ${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
    <button type="submit">Log in</button>
  </form>
</main>`,
  );
}

export function consolePage(actor: string, csrf: string): string {
  return layout(
    'breakwater console',
    `<header>
  <h1>breakwater console</h1>
  <span id="live" class="live">connecting…</span>
  <span class="who">${escape(actor)}</span>
  <button id="logout" type="button">Log out</button>
</header>
<main>
  <section><h2>Upstreams</h2>
    <table id="upstreams"><thead><tr><th>Upstream</th><th>API</th><th>Breaker</th><th>Next probe</th>
      <th>Failure rate (5 min)</th><th>Latency</th><th>Attempts</th><th>Actions</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="two">
    <div><h2>Routes</h2><div id="routes"></div></div>
    <div><h2>Retry budget</h2><div id="budget"></div></div>
  </section>
  <section><h2>Errors by category and code (10 s buckets, last 5 min)</h2>
    <svg id="errors" viewBox="0 0 600 140" preserveAspectRatio="none" role="img" aria-label="errors over time"></svg>
    <div id="legend"></div>
  </section>
  <section><h2>Latest failed operations</h2>
    <form id="search"><input id="correlation" placeholder="Search by correlation id" maxlength="200">
      <button type="submit">Search</button> <button id="clear" type="button">Latest failures</button></form>
    <table id="failed"><thead><tr><th>When</th><th>Model</th><th>Error</th><th>Attempts</th><th>Correlation id</th></tr></thead><tbody></tbody></table>
  </section>
  <div id="toast" role="status"></div>
</main>
<script src="/console/app.js"></script>`,
    `<meta name="csrf" content="${escape(csrf)}">`,
  );
}

// The sign-in page: plain, accessible HTML with no scripts; the console team restyles it.

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;display:flex;justify-content:center;padding-top:10vh;margin:0}
main{background:#fff;border:1px solid #d8dce3;border-radius:6px;padding:2rem;width:20rem}
h1{font-size:1.25rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;color:#4a5162}
label{display:block;margin:.75rem 0 .25rem;font-weight:600}input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #b9bfca;border-radius:4px}
button{margin-top:1.25rem;width:100%;padding:.6rem;border:0;border-radius:4px;background:#1f4fd1;color:#fff;font-weight:600;cursor:pointer}
.error{color:#a4161a;font-weight:600}a{color:#1f4fd1}`;

export function loginPage(input: { action: string; abort: string; appName: string; error?: string; username?: string }): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign in · Vigil</title><style>${STYLE}</style></head><body><main>
<h1>Sign in to Vigil</h1><p>to continue to <strong>${escape(input.appName)}</strong></p>
${input.error ? `<p class="error" role="alert">${escape(input.error)}</p>` : ''}
<form method="post" action="${escape(input.action)}" autocomplete="on">
<label for="username">Username</label><input id="username" name="username" required autofocus value="${escape(input.username ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form>
<p><a href="${escape(input.abort)}">Cancel</a></p></main></body></html>`;
}

export function messagePage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Vigil</title><style>${STYLE}</style></head>
<body><main><h1>${escape(title)}</h1><p>${escape(message)}</p></main></body></html>`;
}

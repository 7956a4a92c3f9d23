// Requests to ember's JSON API (docs/api.md), with errors turned into
// sentences: the server's own message, or that the server cannot be reached.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// GET api/v1/@endpoint with @params (empty values left out); resolves to the JSON body.
export async function apiGet(endpoint, params, signal) {
  const url = new URL('api/v1/' + endpoint, document.baseURI);
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  let resp;
  try {
    resp = await fetch(url, { signal, credentials: 'same-origin', cache: 'no-store' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `Cannot reach the ember server at ${location.host}: is the daemon ` +
      `(or ember serve) still running? (${e.message})`);
  }
  let body = null;
  try {
    body = await resp.json();
  } catch (e) {
    body = null;
  }
  if (!resp.ok) {
    const msg = body && typeof body.error === 'string' ? body.error : `HTTP ${resp.status}`;
    if (resp.status === 401)
      throw new ApiError(401, 'Not authorized: open this page as /?token=TOKEN with the ' +
        'token from the server\'s --auth-token-file.');
    throw new ApiError(resp.status, msg);
  }
  if (!body) throw new ApiError(resp.status, 'The server sent a reply that is not JSON.');
  return body;
}

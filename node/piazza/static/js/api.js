// The node's API, from the page: same origin, JSON answers, errors as {error: {code, message}}.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status, "BAD_ANSWER", `the node answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    const error = (body && body.error) || {};
    throw new ApiError(response.status, error.code || "ERROR", error.message || `HTTP ${response.status}`);
  }
  return body;
}

/** GET /v1/… as JSON; `params` become the query string (null values left out). */
export async function get(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== "") query.set(name, value);
  const url = query.toString() ? `${path}?${query}` : path;
  return answer(await fetch(url, { headers: { Accept: "application/json" } }));
}

/** POST raw canonical bytes (a signed transaction) or a JSON body. */
export async function post(path, body) {
  const isBytes = body instanceof Uint8Array;
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": isBytes ? "application/msgpack" : "application/json", Accept: "application/json" },
    body: isBytes ? body : JSON.stringify(body),
  });
  return answer(response);
}

const SOKU_API_KEY = process.env.SOKU_API_KEY;
const BASE_URL = 'https://api.mysoku.io';

async function sokuRequest(path, options = {}) {
  const url = `${BASE_URL}${path}`;
  const headers = {
    'Content-Type': 'application/json',
    'soku-api-key': SOKU_API_KEY,
    ...options.headers,
  };

  const response = await fetch(url, {
    ...options,
    headers,
  });

  if (!response.ok) {
    const body = await response.json();
    const error = new Error(body.error?.message || 'API request failed');
    error.code = body.error?.code;
    error.status = response.status;
    error.requestId = body.error?.requestId;
    throw error;
  }

  // Handle 204 No Content
  if (response.status === 204) {
    return null;
  }

  return response.json();
}

await sokuRequest('/v1/posts', { method: 'POST', body: JSON.stringify({ post: { content: { text: 'hello', mediaType: 'text', platform: ['myspace'] } } }) }).then((r) => { console.log('UNEXPECTED SUCCESS', JSON.stringify(r)); process.exit(1); }, (e) => console.log(JSON.stringify({ message: e.message, code: e.code, status: e.status, requestId: e.requestId })));

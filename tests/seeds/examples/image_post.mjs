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

async function publishImagePost() {
  const result = await sokuRequest('/v1/posts', {
    method: 'POST',
    body: JSON.stringify({
      post: {
        content: {
          text: "Behind the scenes from today's shoot",
          mediaType: 'image',
          imageUrls: [
            'https://storage.mysoku.io/media/img1.jpg',
            'https://storage.mysoku.io/media/img2.jpg',
            'https://storage.mysoku.io/media/img3.jpg',
          ],
          platform: [
            { platform: 'instagram', accountId: 'ig_main' },
            { platform: 'facebook', accountId: 'fb_page' },
            'linkedin',
          ],
        },
      },
    }),
  });

  console.log('Post submitted:', result.postSubmissionId);
  return result;
}

await publishImagePost();

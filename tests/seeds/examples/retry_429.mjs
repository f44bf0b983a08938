const SOKU_API_KEY = process.env.SOKU_API_KEY;
const BASE_URL = 'https://api.mysoku.io';

async function sokuRequestWithRetry(path, options = {}, maxRetries = 3) {
  const url = `${BASE_URL}${path}`;
  const headers = {
    'Content-Type': 'application/json',
    'soku-api-key': SOKU_API_KEY,
    ...options.headers,
  };

  for (let attempt = 0; attempt <= maxRetries; attempt++) {
    const response = await fetch(url, {
      ...options,
      headers,
    });

    // Log rate limit status
    const remaining = response.headers.get('X-RateLimit-Remaining');
    const limit = response.headers.get('X-RateLimit-Limit');
    if (remaining && limit) {
      console.log(`Rate limit: ${remaining}/${limit} remaining`);
    }

    // Handle rate limiting
    if (response.status === 429) {
      if (attempt === maxRetries) {
        const body = await response.json();
        throw new Error(
          `Rate limit exceeded after ${maxRetries} retries (requestId: ${body.error?.requestId})`
        );
      }

      const retryAfter = parseInt(response.headers.get('Retry-After'), 10) || 1;
      const jitter = Math.random() * 1000;
      const delay = retryAfter * 1000 + jitter;
      console.log(`Rate limited. Waiting ${Math.round(delay / 1000)}s before retry ${attempt + 1}...`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      continue;
    }

    // Handle server errors with retry
    if (response.status >= 500) {
      if (attempt === maxRetries) {
        const body = await response.json();
        throw new Error(
          `Server error after ${maxRetries} retries: ${body.error?.code} (requestId: ${body.error?.requestId})`
        );
      }

      const delay = Math.pow(2, attempt) * 1000 + Math.random() * 1000;
      console.log(`Server error. Waiting ${Math.round(delay / 1000)}s before retry ${attempt + 1}...`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      continue;
    }

    // Handle client errors (no retry)
    if (!response.ok) {
      const body = await response.json();
      const error = new Error(body.error?.message || 'API request failed');
      error.code = body.error?.code;
      error.status = response.status;
      error.requestId = body.error?.requestId;
      error.details = body.error?.details;
      throw error;
    }

    // Handle 204 No Content
    if (response.status === 204) {
      return null;
    }

    return response.json();
  }
}

// Usage
async function main() {
  try {
    const result = await sokuRequestWithRetry('/v1/posts', {
      method: 'POST',
      body: JSON.stringify({
        post: {
          content: {
            text: 'Published with production-grade error handling.',
            mediaType: 'text',
            platform: ['threads'],
          },
        },
      }),
    });

    console.log('Post submitted:', result.postSubmissionId);
  } catch (error) {
    if (error.code === 'missing_integrations') {
      console.error('Connect the required platforms in Settings > Integrations.');
    } else if (error.code === 'insufficient_credits') {
      console.error('Purchase more credits at Account > Credits.');
    } else {
      console.error(`Unexpected error: ${error.message} (requestId: ${error.requestId})`);
    }
  }
}

await main();

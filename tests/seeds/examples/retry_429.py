import os
import requests

SOKU_API_KEY = os.environ["SOKU_API_KEY"]
BASE_URL = "https://api.mysoku.io"

def soku_request(path, method="GET", json_data=None, extra_headers=None):
    url = f"{BASE_URL}{path}"
    headers = {
        "Content-Type": "application/json",
        "soku-api-key": SOKU_API_KEY,
    }
    if extra_headers:
        headers.update(extra_headers)

    response = requests.request(method, url, json=json_data, headers=headers)

    if not response.ok:
        body = response.json()
        error_info = body.get("error", {})
        raise Exception(
            f"API error {error_info.get('code')}: {error_info.get('message')} "
            f"(requestId: {error_info.get('requestId')})"
        )

    if response.status_code == 204:
        return None

    return response.json()

import time
import random

def soku_request_with_retry(path, method="POST", json_data=None, extra_headers=None, max_retries=3):
    url = f"{BASE_URL}{path}"
    headers = {
        "Content-Type": "application/json",
        "soku-api-key": SOKU_API_KEY,
    }
    if extra_headers:
        headers.update(extra_headers)

    for attempt in range(max_retries + 1):
        response = requests.request(method, url, json=json_data, headers=headers)

        # Log rate limit status
        remaining = response.headers.get("X-RateLimit-Remaining")
        limit = response.headers.get("X-RateLimit-Limit")
        if remaining and limit:
            print(f"Rate limit: {remaining}/{limit} remaining")

        # Handle rate limiting
        if response.status_code == 429:
            if attempt == max_retries:
                body = response.json()
                raise Exception(
                    f"Rate limit exceeded after {max_retries} retries "
                    f"(requestId: {body.get('error', {}).get('requestId')})"
                )
            retry_after = int(response.headers.get("Retry-After", 1))
            jitter = random.random()
            delay = retry_after + jitter
            print(f"Rate limited. Waiting {delay:.1f}s before retry {attempt + 1}...")
            time.sleep(delay)
            continue

        # Handle server errors with retry
        if response.status_code >= 500:
            if attempt == max_retries:
                body = response.json()
                error_info = body.get("error", {})
                raise Exception(
                    f"Server error after {max_retries} retries: {error_info.get('code')} "
                    f"(requestId: {error_info.get('requestId')})"
                )
            delay = (2 ** attempt) + random.random()
            print(f"Server error. Waiting {delay:.1f}s before retry {attempt + 1}...")
            time.sleep(delay)
            continue

        # Handle client errors (no retry)
        if not response.ok:
            body = response.json()
            error_info = body.get("error", {})
            raise Exception(
                f"API error {error_info.get('code')}: {error_info.get('message')} "
                f"(requestId: {error_info.get('requestId')})"
            )

        if response.status_code == 204:
            return None

        return response.json()

print(f"Post submitted: {soku_request_with_retry('/v1/posts', json_data={'post': {'content': {'text': 'Published with production-grade error handling.', 'mediaType': 'text', 'platform': ['threads']}}})['postSubmissionId']}")

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

def publish_text_post():
    result = soku_request("/v1/posts", method="POST", json_data={
        "post": {
            "content": {
                "text": "Just shipped our biggest update yet. More details coming soon.",
                "mediaType": "text",
                "platform": ["threads", "x", "linkedin"],
            }
        }
    })

    print(f"Post submitted: {result['postSubmissionId']}")
    return result

publish_text_post()

curl -X POST https://api.mysoku.io/v1/posts \
  -H "Content-Type: application/json" \
  -H "soku-api-key: $SOKU_API_KEY" \
  -d '{
    "post": {
      "content": {
        "text": "Just shipped our biggest update yet. More details coming soon.",
        "mediaType": "text",
        "platform": ["threads", "x", "linkedin"]
      }
    }
  }'

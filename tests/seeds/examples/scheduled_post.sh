curl -X POST https://api.mysoku.io/v1/posts \
  -H "Content-Type: application/json" \
  -H "soku-api-key: $SOKU_API_KEY" \
  -d '{
    "post": {
      "content": {
        "text": "Happy Monday! Here is your weekly dose of motivation.",
        "mediaType": "text",
        "platform": ["threads", "x", "linkedin"]
      }
    },
    "scheduledTime": "2026-03-09T14:00:00.000Z"
  }'

#!/bin/sh
# Settings that carry a value (not a path) from compose secrets: the staff token secret must
# be the same in every api worker and process, or a token signed by one fails at another.
# File-path settings (FCM, APNs, VAPID keys) point at /run/secrets/... directly.
set -eu
if [ -z "${BOUSAI_STAFF_TOKEN_SECRET:-}" ] && [ -r /run/secrets/staff_token_secret ]; then
  BOUSAI_STAFF_TOKEN_SECRET="$(cat /run/secrets/staff_token_secret)"
  export BOUSAI_STAFF_TOKEN_SECRET
fi
exec "$@"

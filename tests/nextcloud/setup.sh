#!/bin/sh
# Prepares a fresh Nextcloud for the Cipherfold test suites. Idempotent.
# Runs automatically as a post-installation hook of the official image (as www-data), or by hand:
#   docker compose -f tests/nextcloud/compose.yaml exec -u www-data nextcloud sh /cipherfold/setup.sh
set -eu

occ() { php /var/www/html/occ --no-interaction "$@"; }

echo "cipherfold-setup: end_to_end_encryption app"
if ! occ app:list --output=json | grep -q '"end_to_end_encryption"'; then
  occ app:install end_to_end_encryption
fi
occ app:enable end_to_end_encryption

echo "cipherfold-setup: test-friendly system config"
occ config:system:set auth.bruteforce.protection.enabled --type=boolean --value=false
occ config:system:set ratelimit.protection.enabled --type=boolean --value=false
occ config:system:set trusted_domains 0 --value=localhost
occ config:system:set trusted_domains 1 --value=127.0.0.1
occ config:system:set trusted_domains 2 --value=nextcloud
occ config:system:set overwrite.cli.url --value="${CIPHERFOLD_BASE_URL:-http://localhost:8080}"
# Empty homes for new users (no skeleton files), no first-run wizard, no password policy for the fixed test passwords.
occ config:system:set skeletondirectory --value=''
occ app:disable firstrunwizard || true
occ app:disable password_policy || true

echo "cipherfold-setup: users alice, bob, carol"
for u in alice bob carol; do
  if occ user:info "$u" >/dev/null 2>&1; then
    OC_PASS="$u-password" occ user:resetpassword --password-from-env "$u"
  else
    OC_PASS="$u-password" occ user:add --password-from-env --display-name="$u" "$u"
  fi
done

echo "cipherfold-setup: done ($(occ app:list | grep -E 'end_to_end_encryption' || true))"

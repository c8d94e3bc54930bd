#!/bin/bash
# The default user from the environment (as the official image does), written to the node's config on every start.
set -euo pipefail
umask 077
{
  echo "loopback_users = none"
  echo "listeners.tcp.default = 5672"
  echo "default_user = ${RABBITMQ_DEFAULT_USER:-guest}"
  echo "default_pass = ${RABBITMQ_DEFAULT_PASS:-guest}"
} > /etc/rabbitmq/rabbitmq.conf
[[ -f /etc/rabbitmq/enabled_plugins ]] || echo '[].' > /etc/rabbitmq/enabled_plugins
exec "$@"

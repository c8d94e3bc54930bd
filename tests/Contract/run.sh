#!/usr/bin/env bash
# The contract test: generate clients from the served OpenAPI document with three generators, compile each strictly,
# and run the smoke flow with the Kiota client and with openapi-fetch. Run by tests/Api.Tests (GeneratedClientTests)
# against a real server; by hand:
#   FH_BASE_URL=http://127.0.0.1:5080 FH_KEY=fh_... FH_TEMPLATE_ID=... tests/Contract/run.sh
# FH_KEY: roles admin, integration, recruiter, on a tenant that allows private webhook targets (the smoke flows
# receive a webhook ping on 127.0.0.1). Generators are pinned and installed once into .local/contract/ and
# tests/Contract/ts/node_modules (reruns reuse them). docs/generating-clients.md explains each command.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${FH_BASE_URL:?}" "${FH_KEY:?}" "${FH_TEMPLATE_ID:?}"
TOOLS=../../.local/contract/tools
KIOTA_VERSION=1.38.0
NSWAG_VERSION=14.7.1
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 MSBUILDTERMINALLOGGER=off
export DOTNET_ROLL_FORWARD=Major # the generators target earlier runtimes; this machine has .NET 10 only
say() { printf '[contract] %s (%ss)\n' "$*" "$SECONDS" >&2; }

# Generators, pinned.
# (The list is read whole before matching: with pipefail, grep -q leaving early could fail the pipeline on SIGPIPE.)
installed() { [[ -x "$TOOLS/$1" ]] && grep -qi "^$2 *$3 " <<<"$(dotnet tool list --tool-path "$TOOLS")"; }
installed kiota microsoft.openapi.kiota "$KIOTA_VERSION" || dotnet tool install Microsoft.OpenApi.Kiota --version "$KIOTA_VERSION" --tool-path "$TOOLS" >/dev/null
installed nswag nswag.consolecore "$NSWAG_VERSION" || dotnet tool install NSwag.ConsoleCore --version "$NSWAG_VERSION" --tool-path "$TOOLS" >/dev/null
[[ ts/node_modules/.package-lock.json -nt ts/package-lock.json ]] || (cd ts && npm ci --no-audit --no-fund --loglevel=error)
say "generators ready"

curl -fsS "$FH_BASE_URL/openapi/v1.json" -o openapi.json
say "document fetched"

rm -rf kiota/Generated nswag/Generated ts/generated ts/dist
"$TOOLS/kiota" generate --language CSharp --openapi openapi.json --output kiota/Generated --class-name FeedbackHubClient \
  --namespace-name FeedbackHub.Client --exclude-backward-compatible --clean-output --log-level Error
rm -f kiota/Generated/kiota-lock.json
"$TOOLS/nswag" openapi2csclient /input:openapi.json /output:nswag/Generated/FeedbackHubClient.cs /namespace:FeedbackHub.NSwagClient \
  /className:FeedbackHubClient /JsonLibrary:SystemTextJson /GenerateExceptionClasses:true /WrapResponses:true \
  /GenerateResponseClasses:true /GenerateNullableReferenceTypes:true /GenerateOptionalPropertiesAsNullable:true >/dev/null
(cd ts && npx --no-install openapi-typescript ../openapi.json --output generated/schema.d.ts --silent)
say "clients generated"

# Compile: C# with warnings as errors (tests/Contract/Directory.Build.props), TypeScript with tsc --strict (tsconfig.json).
dotnet build nswag/NSwagClient.csproj -c Release -nologo -clp:ErrorsOnly -warnaserror
dotnet build kiota/KiotaSmoke.csproj -c Release -nologo -clp:ErrorsOnly -warnaserror
(cd ts && npx --no-install tsc -p tsconfig.json --strict)
say "clients compiled"

# Smoke flows against the running API.
dotnet kiota/bin/Release/net10.0/KiotaSmoke.dll
(cd ts && node dist/smoke.js)
say "smoke flows passed"

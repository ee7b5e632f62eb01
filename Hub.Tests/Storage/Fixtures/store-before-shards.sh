#!/usr/bin/env bash
# How store-before-shards.json.gz was made: a real Hub at commit 673bbd5 (the last key layout without shards) on a
# redis-server, driven through its API and the sandbox: two tenants, a key, an API-key connection, contact fields, a
# member with an externalId, a 700-member sync that succeeded, an unsubscribe event from the sandbox, pending webhook
# deliveries, and a 600-member sync still running (3 s per Mailchimp call) when the store was dumped: its lease has long
# expired, as a Hub killed at that moment would leave it. The store was dumped
# key by key (type, TTL, base64 values) as JSON and gzipped. Kept for reference; it runs only against that commit.
# Tenant tn_cv9dq7kne9768wmbdx6c, key hub_k1129t3r1ogn_Z6HngoXKQh1EXrD0TivKb1v8nniPVEDCOtNFvFylzcU, encryption key "fx" below.
set -euo pipefail
PORT=6394; HUBPORT=5477; H=http://127.0.0.1:$HUBPORT
redis-cli -p $PORT shutdown nosave 2>/dev/null || true
redis-server --port $PORT --save '' --appendonly no --daemonize yes >/dev/null; sleep 0.5
cd /work/main; OUT=/work/benchlogs/fixture
ASPNETCORE_ENVIRONMENT=Development Hub__Redis__ConnectionString=127.0.0.1:$PORT Hub__Redis__KeyPrefix=hub: \
  Hub__PublicBaseUrl=$H Hub__Webhooks__AllowPrivateTargets=true ASPNETCORE_URLS=$H \
  Hub__Admin__ApiKey=adm_fixture_0123456789abcdef0123456789abcdef Hub__Encryption__ActiveKeyId=fx Hub__Encryption__Keys__fx=Zml4dHVyZS1rZXktZm9yLW1pZ3JhdGlvbi10ZXN0cyE= \
  dotnet run --no-build --no-launch-profile --project Hub.Api > /work/benchlogs/fixture/hub.log 2>&1 &
echo $! > /work/benchlogs/fixture/hub.pid
for i in $(seq 1 120); do curl -sf $H/health/ready >/dev/null 2>&1 && break; sleep 0.5; done
cd $OUT
A="Authorization: Bearer adm_fixture_0123456789abcdef0123456789abcdef"; J='Content-Type: application/json'
T=$(curl -sf -X POST $H/api/admin/tenants -H "$A" -H "$J" -d '{"name":"Fixture Co","webhookUrl":"http://127.0.0.1:9/hooks","defaultPermissionReminder":"You signed up at Fixture Co.","defaultContact":{"company":"Fixture Co","address1":"1 Main St","city":"Utrecht","state":"UT","zip":"3511","country":"NL"},"defaultCampaignDefaults":{"fromName":"Fixture","fromEmail":"news@fixture.example","subject":"News","language":"en"}}')
echo "$T" > tenant.json; TID=$(echo "$T" | jq -r .tenant.id)
K=$(curl -sf -X POST $H/api/admin/tenants/$TID/keys -H "$A" -H "$J" -d '{"name":"production"}'); echo "$K" > key.json
KEY=$(echo "$K" | jq -r .key); B="Authorization: Bearer $KEY"
T2=$(curl -sf -X POST $H/api/admin/tenants -H "$A" -H "$J" -d '{"name":"Second Co"}'); echo "$T2" > tenant2.json
MC=$(curl -sf -X POST $H/sandbox/_control/accounts -H "$J" -d '{"name":"Fixture Shop","dc":"us9"}' | jq -r .api_key)
curl -sf -X PUT $H/api/v1/connection/api-key -H "$B" -H "$J" -d "{\"apiKey\":\"$MC\"}" > connection.json
curl -sf -X POST $H/api/v1/lists -H "$B" -H "$J" -d '{"key":"newsletter","name":"Newsletter","newAudience":{"name":"Fixture news"},"fields":[{"tag":"COMPANY","name":"Company","type":"text"}]}' > list.json
curl -sf -X POST $H/api/v1/lists/newsletter/members -H "$B" -H "$J" -d '{"email":"ann@example.com","mergeFields":{"FNAME":"Ann","COMPANY":"Acme"},"externalId":"c-1"}' > member.json
python3 - > members.json <<'PY'
import json; print(json.dumps([{"email":f"p{i}@example.com","mergeFields":{"FNAME":f"P{i}"}} for i in range(1,701)]))
PY
curl -sf -X PUT $H/api/v1/lists/newsletter/members -H "$B" -H "$J" --data-binary @members.json > sync.json
JOB=$(jq -r .jobId sync.json)
for i in $(seq 1 120); do S=$(curl -sf $H/api/v1/jobs/$JOB -H "$B" | jq -r .state); [ "$S" = succeeded ] && break; sleep 0.5; done
curl -sf $H/api/v1/jobs/$JOB -H "$B" > job.json
# a second list with a queued job that will never run (worker stopped by killing Hub right after)
curl -s -X POST $H/api/v1/lists -H "$B" -H "$J" -d '{"key":"customers","name":"Customers","newAudience":{"name":"Fixture customers"}}' > list2.json
AUD=$(jq -r .audienceId list.json)
curl -s -X PUT "$H/sandbox/_control/lists/$AUD/members/p5@example.com" -H "$J" -d '{"status":"unsubscribed"}' > event.json
sleep 3
curl -sf $H/api/v1/lists -H "$B" > lists.json
curl -sf "$H/api/v1/events?limit=10" -H "$B" > events.json || true
curl -sf $H/api/v1/webhooks/deliveries -H "$B" > deliveries.json
echo "$TID $KEY" > ids.txt
python3 -c 'import json; print(json.dumps([{"email":f"c{i}@example.com"} for i in range(1,601)]))' > customers.json
curl -s -X PUT $H/sandbox/_control/latency -H "$J" -d '{"per_call_ms":3000,"per_member_ms":0}'
curl -sf -X PUT $H/api/v1/lists/customers/members -H "$B" -H "$J" --data-binary @customers.json > sync2.json
sleep 1.5
for p in $(pgrep -f Hub.Api.dll); do tr "\0" "\n" < /proc/$p/environ | grep -q "127.0.0.1:5477" && kill -9 $p || true; done
pkill -f "ASPNETCORE_URLS=http://127.0.0.1:5477" || true; for p in $(pgrep -f Hub.Api.dll); do tr "\0" "\n" < /proc/$p/environ | grep -q "127.0.0.1:5477" && kill $p || true; done; sleep 2
dotnet /work/benchlogs/fixture/dumper/out/dumper.dll 127.0.0.1:$PORT > store.json

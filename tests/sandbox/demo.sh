#!/usr/bin/env bash
# The local sandbox: moto (EC2, Secrets Manager) and the Atlas simulator on 127.0.0.1, and a VPC
# with an interface endpoint in moto. The event function is invoked through a local Lambda
# Runtime API with the sample create and delete events, and again for an endpoint in a second
# account, which it reads through a role assumed with moto's STS. Then an endpoint whose event
# never arrives is created, and the reconcile function links it. Needs no AWS account.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

bin="${CARGO_TARGET_DIR:-target}/debug"
moto_port="${DEMO_MOTO_PORT:-5055}"
atlas_port="${DEMO_ATLAS_PORT:-8085}"
project_id="5f1a2b3c4d5e6f7a8b9c0d1e"
service_id="65a1b2c3d4e5f6a7b8c9d0e1"
service_name="com.amazonaws.vpce.us-east-1.vpce-svc-0e1f2a3b4c5d6e7f8"
public_key="demo-public-key"
private_key="demo-private-key"
# A second account, whose endpoints the function reads through this role. moto accepts any role.
member_account="444455556666"
member_role="atlas-privatelink-linker-read"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

work="$(mktemp -d)"
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ "$status" -eq 0 ]; then
        rm -rf "$work"
    else
        echo "The demo failed; the logs of moto, the simulator and the functions are in $work" >&2
    fi
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }

wait_for() {
    local url="$1" name="$2"
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
        sleep 0.2
    done
    echo "$name did not start; its log is in $work" >&2
    exit 1
}

for port in "$moto_port" "$atlas_port"; do
    if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
        echo "Port $port on 127.0.0.1 is already in use; set DEMO_MOTO_PORT or DEMO_ATLAS_PORT to free ports" >&2
        exit 1
    fi
done

step "Starting moto on 127.0.0.1:$moto_port"
.venv/bin/moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$moto_port/moto-api/" moto

step "Starting the Atlas simulator on 127.0.0.1:$atlas_port"
"$bin/atlas-sim" --port "$atlas_port" --digest "$public_key:$private_key" \
    --accept-delay-ms 2000 --ec2-endpoint "http://127.0.0.1:$moto_port" --ec2-account "$member_account" \
    --service "$project_id,US_EAST_1,$service_name,$service_id" >"$work/atlas.out" 2>"$work/atlas.log" &
pids+=($!)
wait_for "http://127.0.0.1:$atlas_port/_sim/health" "the Atlas simulator"

step "Creating a VPC and an interface endpoint to $service_name in moto"
ids="$(.venv/bin/python tests/sandbox/sandbox.py seed --endpoint "http://127.0.0.1:$moto_port" --service-name "$service_name")"
vpc_id="$(echo "$ids" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["vpcId"])')"
vpce_id="$(echo "$ids" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["vpcEndpointId"])')"
echo "  VPC $vpc_id, endpoint $vpce_id"

for name in create-interface-one-subnet delete-one; do
    .venv/bin/python tests/sandbox/sandbox.py rewrite --vpc-id "$vpc_id" --vpc-endpoint-id "$vpce_id" \
        "events/$name.json" "$work/$name.json"
done

function_env=(
    --env "AWS_ENDPOINT_URL=http://127.0.0.1:$moto_port"
    --env "ATLAS_PROJECT_IDS=$project_id"
    --env "MONGODB_ATLAS_BASE_URL=http://127.0.0.1:$atlas_port"
    --env "MONGODB_ATLAS_PUBLIC_API_KEY=$public_key"
    --env "MONGODB_ATLAS_PRIVATE_API_KEY=$private_key"
    --env "WAIT_BUDGET_SECONDS=15"
)

step "Invoking the event function with events/create-interface-one-subnet.json"
"$bin/local-invoke" --binary "$bin/linker-events" "${function_env[@]}" \
    "$work/create-interface-one-subnet.json" 2>"$work/function-create.log" | tee "$work/create.out"
echo "Both sides compared:"
.venv/bin/python tests/sandbox/sandbox.py summary <"$work/create.out"

step "Deleting the endpoint in moto, then invoking events/delete-one.json"
.venv/bin/python tests/sandbox/sandbox.py delete --endpoint "http://127.0.0.1:$moto_port" --vpc-endpoint-id "$vpce_id"
"$bin/local-invoke" --binary "$bin/linker-events" "${function_env[@]}" \
    "$work/delete-one.json" 2>"$work/function-delete.log" | tee "$work/delete.out"
echo "Both sides compared:"
.venv/bin/python tests/sandbox/sandbox.py summary <"$work/delete.out"

step "Creating an endpoint in account $member_account, then invoking its create event"
member="$(.venv/bin/python tests/sandbox/sandbox.py seed --endpoint "http://127.0.0.1:$moto_port" \
    --service-name "$service_name" --account "$member_account")"
member_vpc="$(echo "$member" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["vpcId"])')"
member_id="$(echo "$member" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["vpcEndpointId"])')"
echo "  endpoint $member_id in account $member_account, read through the role $member_role"
for name in create-interface-one-subnet delete-one; do
    .venv/bin/python tests/sandbox/sandbox.py rewrite --vpc-id "$member_vpc" --vpc-endpoint-id "$member_id" \
        --account "$member_account" "events/$name.json" "$work/member-$name.json"
done
"$bin/local-invoke" --binary "$bin/linker-events" "${function_env[@]}" \
    --env "CROSS_ACCOUNT_ROLE_NAME=$member_role" \
    "$work/member-create-interface-one-subnet.json" 2>"$work/function-member.log" | tee "$work/member-create.out"
echo "Both sides compared:"
.venv/bin/python tests/sandbox/sandbox.py summary <"$work/member-create.out"

step "Deleting the endpoint in account $member_account, then invoking its delete event"
.venv/bin/python tests/sandbox/sandbox.py delete --endpoint "http://127.0.0.1:$moto_port" \
    --vpc-endpoint-id "$member_id" --account "$member_account"
"$bin/local-invoke" --binary "$bin/linker-events" "${function_env[@]}" \
    --env "CROSS_ACCOUNT_ROLE_NAME=$member_role" \
    "$work/member-delete-one.json" 2>>"$work/function-member.log" | tee "$work/member-delete.out"
echo "Both sides compared:"
.venv/bin/python tests/sandbox/sandbox.py summary <"$work/member-delete.out"

step "Creating another endpoint without sending its event, then running the reconcile sweep"
missed="$(.venv/bin/python tests/sandbox/sandbox.py seed --endpoint "http://127.0.0.1:$moto_port" --service-name "$service_name")"
missed_id="$(echo "$missed" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["vpcEndpointId"])')"
echo "  endpoint $missed_id exists in EC2, and no event told the function about it"
"$bin/local-invoke" --binary "$bin/linker-reconcile" "${function_env[@]}" \
    events/reconcile-scheduled.json 2>"$work/function-reconcile.log" | tee "$work/reconcile.out"
echo "Both sides compared:"
.venv/bin/python tests/sandbox/sandbox.py summary <"$work/reconcile.out"

step "Running the sweep again once Atlas has accepted the link"
sleep 2
"$bin/local-invoke" --binary "$bin/linker-reconcile" "${function_env[@]}" \
    events/reconcile-scheduled.json 2>>"$work/function-reconcile.log" >"$work/reconcile-again.out"
.venv/bin/python tests/sandbox/sandbox.py summary <"$work/reconcile-again.out"

step "Atlas state at the end"
curl -fsS "http://127.0.0.1:$atlas_port/_sim/projects/$project_id/services/$service_id/links"
echo

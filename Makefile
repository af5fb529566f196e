# The two commands a new user needs: `make demo` runs the event function in the local sandbox
# (moto and the Atlas simulator on 127.0.0.1, no AWS account), and `make test` runs every check
# that CI runs. Both install what they need into .venv and target/.

.PHONY: demo test build

# ---------------------------------------------------------------------------------------------
# Deployment: template checks (infra-check) and Lambda packages (package). the README
# describes the deploy steps that use them.
# ---------------------------------------------------------------------------------------------

VENV := .venv
VENV_BIN := $(CURDIR)/$(VENV)/bin

# Runs a command in a network namespace of its own, so the checks cannot reach any host. Where the
# kernel refuses an unprivileged namespace, the command runs with the network and relies on
# OFFLINE_ENV, which switches off the AWS credential lookups and CDK CLI calls that use it.
OFFLINE := $(shell unshare --net true 2>/dev/null && echo unshare --net)
OFFLINE_ENV := AWS_EC2_METADATA_DISABLED=true AWS_DEFAULT_REGION=us-east-1 \
	CDK_DISABLE_CLI_TELEMETRY=true CDK_DISABLE_VERSION_CHECK=true

# Context for the check synthesis: every optional setting is set, so the synthesized templates
# hold every conditional resource and statement that template.yaml can produce. The cross-account
# settings are the exception: infra/checks synthesizes the app with them itself. Settings with a
# default (dryRun, waitBudgetSeconds, reconcileSchedule, mismatchAgeLimitMinutes and others) stay
# unset, so infra/checks compares the CDK defaults with the parameter defaults of template.yaml.
# The values are placeholders, and none of them points at a real Atlas or AWS endpoint.
CDK_CHECK_CONTEXT := -c skipBundling=true \
	-c atlasProjectIds=0123456789abcdef01234567,76543210fedcba9876543210 \
	-c atlasCredentialsSecret=atlas-privatelink-linker/atlas \
	-c atlasCredentialsKmsKeyArn=arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab \
	-c atlasBaseUrl=https://atlas.example.test \
	-c allowedAccountIds=123456789012 \
	-c allowedVpcIds=vpc-0123456789abcdef0 \
	-c optOutTag=atlas-privatelink-linker:opt-out \
	-c reconcileRegions=us-west-2,eu-west-1 \
	-c forwarderAccountIds=111111111111 \
	-c forwarderOrganizationId=o-abcdefghij \
	-c alarmTopicArn=arn:aws:sns:us-east-1:123456789012:ops-alarms \
	-c mainRegion=us-east-1 \
	-c forwarderRegions=us-west-2,eu-west-1

# Lambda functions: the crates under functions/ with a src/main.rs, whose binary has the crate's
# name (linker-events and linker-reconcile).
LAMBDA_FUNCTIONS := $(patsubst functions/%/src/main.rs,%,$(wildcard functions/*/src/main.rs))
# The functions run on arm64 (template.yaml). LAMBDA_ARCH=x86-64 builds packages that only serve
# to measure size on hosts without the aarch64 Rust standard library.
LAMBDA_ARCH ?= arm64
LAMBDA_TARGET_arm64 := aarch64-unknown-linux-gnu
LAMBDA_TARGET_x86-64 := x86_64-unknown-linux-gnu
# cargo lambda writes target/lambda/<name>/bootstrap.zip under this directory.
CARGO_TARGET_DIR ?= target

.PHONY: infra-check package

$(VENV)/bin/python:
	python3 -m venv $(VENV)

$(VENV)/.sandbox-tools: tests/sandbox/requirements.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r tests/sandbox/requirements.txt
	touch $@

build:
	cargo build --locked -p linker-events -p linker-reconcile -p atlas-sim -p harness --bins

demo: $(VENV)/.sandbox-tools build
	tests/sandbox/demo.sh

# The functions' end-to-end tests start moto from .venv and run the binaries built here.
test: $(VENV)/.sandbox-tools build
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets -- -D warnings
	MOTO_SERVER=$(VENV_BIN)/moto_server cargo test --locked --workspace
	$(MAKE) infra-check

$(VENV)/.infra-check-tools: infra/requirements-check.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r infra/requirements-check.txt
	touch $@

$(VENV)/.infra-package-tools: infra/requirements-package.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -r infra/requirements-package.txt
	touch $@

infra/node_modules/.package-lock.json: infra/package-lock.json
	cd infra && npm ci --no-audit --no-fund

# cfn-lint skips W3005 on the synthesized templates: CDK adds an explicit DependsOn on the
# execution role, which the function's GetAtt of the role already implies.
infra-check: $(VENV)/.infra-check-tools infra/node_modules/.package-lock.json
	$(VENV)/bin/cfn-lint template.yaml infra/sam/forwarder.yaml
	cd infra && npm run --silent typecheck
	cd infra && $(OFFLINE_ENV) $(OFFLINE) npm test
	rm -rf infra/cdk.out
	cd infra && $(OFFLINE_ENV) $(OFFLINE) npx cdk synth --no-notices --quiet --output cdk.out $(CDK_CHECK_CONTEXT)
	$(VENV)/bin/cfn-lint --ignore-checks W3005 -- infra/cdk.out/*.template.json
	$(OFFLINE_ENV) $(OFFLINE) $(VENV)/bin/python -B -m unittest discover -s infra/checks -v

package: $(VENV)/.infra-package-tools
	@test -n "$(LAMBDA_FUNCTIONS)" || { echo "No function crate (functions/*/src/main.rs) found." >&2; exit 1; }
	@if ! rustup target list --installed | grep -qx '$(LAMBDA_TARGET_$(LAMBDA_ARCH))'; then \
		echo "Installing the Rust target $(LAMBDA_TARGET_$(LAMBDA_ARCH)), which cargo lambda needs to build for $(LAMBDA_ARCH)."; \
		rustup target add $(LAMBDA_TARGET_$(LAMBDA_ARCH)); \
	fi
	PATH="$(VENV_BIN):$$PATH" CARGO_TARGET_DIR="$(CARGO_TARGET_DIR)" \
		cargo lambda build --release --$(LAMBDA_ARCH) --output-format zip $(addprefix --bin ,$(LAMBDA_FUNCTIONS))
	@for name in $(LAMBDA_FUNCTIONS); do \
		zip="$(CARGO_TARGET_DIR)/lambda/$$name/bootstrap.zip"; \
		echo "$$zip: $$(stat -c %s "$$zip") bytes"; \
	done

# ---------------------------------------------------------------------------------------------
# Fuzzing: runs the read_event target in fuzz/ with libFuzzer for FUZZ_SECONDS, seeded with the
# sample events in events/. fuzz/README.md describes the target and a recorded run.
# ---------------------------------------------------------------------------------------------

FUZZ_SECONDS ?= 60
FUZZ_CORPUS := $(CURDIR)/fuzz/corpus/read_event

.PHONY: fuzz

# -timeout=10 reports an input that takes more than 10 seconds as a crash (libFuzzer's default
# is 1200 seconds).
fuzz:
	@rustup toolchain list | grep -q '^nightly' || { \
		echo "cargo fuzz needs the nightly toolchain. Install it with: rustup toolchain install nightly" >&2; \
		exit 1; }
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	mkdir -p $(FUZZ_CORPUS)
	cp events/*.json $(FUZZ_CORPUS)/
	cargo +nightly fuzz run --fuzz-dir fuzz read_event $(FUZZ_CORPUS) -- \
		-max_total_time=$(FUZZ_SECONDS) -timeout=10 -dict=$(CURDIR)/fuzz/read_event.dict

# ---------------------------------------------------------------------------------------------
# Benchmarks: init time, peak memory, network requests per event, a burst of creates and the
# package sizes of the functions, next to a hello-world Lambda function, in the local sandbox.
# BENCHMARKS.md records a full run. bench-smoke runs every measurement with small counts on debug
# binaries. It fails only when a measurement cannot run, not when a target is missed.
# ---------------------------------------------------------------------------------------------

# The bench and every process it starts get dummy AWS credentials and no instance metadata.
BENCH_ENV := AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true \
	MOTO_SERVER=$(VENV_BIN)/moto_server
# Extra options for the bench binary, such as --init-runs 50 or --burst 200.
BENCH_ARGS ?=

.PHONY: bench bench-smoke

bench: $(VENV)/.sandbox-tools
	cargo build --locked --release -p linker-events -p linker-reconcile -p bench
	$(BENCH_ENV) $(CARGO_TARGET_DIR)/release/bench $(BENCH_ARGS)

bench-smoke: $(VENV)/.sandbox-tools
	cargo build --locked -p linker-events -p linker-reconcile -p bench
	$(BENCH_ENV) $(CARGO_TARGET_DIR)/debug/bench --smoke $(BENCH_ARGS)

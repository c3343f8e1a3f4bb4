"""What the Lambda layer and the functions must agree on. Kept free of aws_cdk so that
layers/build.py can import it without Node."""

# cdk-nag's AwsSolutions-L1 accepts only the newest Python runtime aws-cdk-lib knows; with
# aws-cdk-lib 2.275 that is 3.14, so the functions run 3.14 and the layer is built for 3.14.
PYTHON_VERSION = "3.14"

# The layer is built from manylinux aarch64 wheels, so every function runs on Graviton.
LAYER_ARCHITECTURE = "arm64"
PIP_PLATFORM = "manylinux2014_aarch64"

# Where layers/build.py puts the layer (relative to the repo root); the directory holds python/.
LAYER_DIR = "layers/build/dependencies"

# CDK context keys (`cdk synth -c bazaar:stage=prod`).
CONTEXT_STAGE = "bazaar:stage"
CONTEXT_LAYER_DIR = "bazaar:layerDir"
DEFAULT_STAGE = "dev"

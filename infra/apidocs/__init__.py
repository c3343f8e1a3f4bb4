"""What is generated from the code for the API's clients: the OpenAPI document and the
error-code table. `python -m infra.apidocs` writes them; unit tests fail when they are stale."""

"""A role whose statements live in its own `Policies` property.

CDK's `iam.Role` puts every statement added to it (by `add_to_policy` and by every `grant_*`
method, event source and on-failure destination that names it) into a separate
`AWS::IAM::Policy` resource, its DefaultPolicy. A policy attached to one role is exactly an
inline policy of that role: same permissions, same size limit (the role's inline policies
share one quota, whatever resource declares them). Declaring it on the role instead saves one
resource per role, which matters in a stack that CloudFormation caps at 500 resources.

jsii dispatches CDK's own calls to `addToPrincipalPolicy` to the override below, so the grant
methods work unchanged. Whatever waited for the DefaultPolicy (a function, a state machine, an
event source mapping through its function) now waits for the role, which carries the
statements from the moment it exists.
"""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from constructs import Construct

# The one inline policy's name: fixed, so the template does not change between synths.
POLICY_NAME = "Permissions"


class InlineRole(iam.Role):
    def __init__(self, scope: Construct, construct_id: str, *, assumed_by: iam.IPrincipal, description: str) -> None:
        # Resolved only at synthesis, so statements added after construction still appear.
        document = iam.PolicyDocument()
        super().__init__(
            scope,
            construct_id,
            assumed_by=assumed_by,
            description=description,
            inline_policies={POLICY_NAME: document},
        )
        self._document = document

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        self._document.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self)

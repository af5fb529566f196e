import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { describeVpcEndpointsStatement, tagLinkedAndRepairedStatement } from './function-roles';
import { LinkerReadRoleSettings } from './settings';

/**
 * Creates the role that the linker functions of the main account assume to describe and tag the
 * VPC endpoints of the stack's account, the same role as LinkerReadRole in
 * infra/sam/forwarder.yaml.
 *
 * The two functions share the role, so it may write the linked and the repaired tag, while their
 * own roles allow linker-events the linked tag only. The trust policy names the roles by ARN, and
 * IAM stores them as role ids, so a replaced linker role is no longer trusted until the stack that
 * owns this role is updated with the new role ARNs.
 */
export function createLinkerReadRole(stack: Stack, settings: LinkerReadRoleSettings): iam.Role {
  return new iam.Role(stack, 'LinkerReadRole', {
    roleName: settings.roleName,
    path: settings.path,
    description: 'Lets the atlas-privatelink-linker functions describe and tag this account\'s VPC endpoints',
    assumedBy: new iam.CompositePrincipal(
      new iam.ArnPrincipal(settings.linkerEventsRoleArn),
      new iam.ArnPrincipal(settings.linkerReconcileRoleArn),
    ),
    inlinePolicies: {
      'describe-and-tag-vpc-endpoints': new iam.PolicyDocument({
        statements: [describeVpcEndpointsStatement(), tagLinkedAndRepairedStatement(stack)],
      }),
    },
  });
}

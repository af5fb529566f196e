import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { LINKED_TAG_KEY, REPAIRED_TAG_KEY } from './names';
import { LinkerSettings } from './settings';

// Each function has its own execution role, with the same statements as its role in
// template.yaml. Every statement names its actions, and only ec2:DescribeVpcEndpoints, which
// supports no resource-level permissions, uses Resource "*". LinkerFunction adds the statement
// for the function's own log group.

/** Returns the statements of the linker-events role, after its log statement. */
export function eventsRoleStatements(
  stack: Stack,
  settings: LinkerSettings,
  deadLetterQueue: sqs.IQueue,
): iam.PolicyStatement[] {
  return [
    ...readStatements(stack, settings),
    // Each request must set the linked tag and no other key.
    new iam.PolicyStatement({
      sid: 'TagLinkedEndpoints',
      actions: ['ec2:CreateTags'],
      resources: [vpcEndpointArn(stack)],
      conditions: {
        'ForAllValues:StringEquals': { 'aws:TagKeys': [LINKED_TAG_KEY] },
        Null: { [`aws:RequestTag/${LINKED_TAG_KEY}`]: 'false' },
      },
    }),
    new iam.PolicyStatement({
      sid: 'SendFailedEventsToDeadLetterQueue',
      actions: ['sqs:SendMessage'],
      resources: [deadLetterQueue.queueArn],
    }),
  ];
}

/**
 * Returns the statements of the linker-reconcile role, after its log statement. It has no
 * dead-letter queue statement because failed sweeps are not kept.
 */
export function reconcileRoleStatements(stack: Stack, settings: LinkerSettings): iam.PolicyStatement[] {
  // The sweep sets one key per request, linked after it links an endpoint and repaired after it
  // re-links a failed link.
  return [...readStatements(stack, settings), tagLinkedAndRepairedStatement(stack)];
}

/**
 * Returns the statement that allows tagging the stack account's VPC endpoints with the linked and
 * repaired keys and no other key. The Null condition rejects a request without tags, which
 * ForAllValues alone would allow.
 */
export function tagLinkedAndRepairedStatement(stack: Stack): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'TagLinkedAndRepairedEndpoints',
    actions: ['ec2:CreateTags'],
    resources: [vpcEndpointArn(stack)],
    conditions: {
      'ForAllValues:StringEquals': { 'aws:TagKeys': [LINKED_TAG_KEY, REPAIRED_TAG_KEY] },
      Null: { 'aws:TagKeys': 'false' },
    },
  });
}

/** Returns the statement that allows describing VPC endpoints, which supports no resource-level permissions. */
export function describeVpcEndpointsStatement(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'DescribeVpcEndpoints',
    actions: ['ec2:DescribeVpcEndpoints'],
    resources: ['*'],
  });
}

/**
 * Returns the statements both roles share, which describe endpoints, read the Atlas credentials
 * and assume the cross-account role.
 */
function readStatements(stack: Stack, settings: LinkerSettings): iam.PolicyStatement[] {
  const statements = [
    describeVpcEndpointsStatement(),
    new iam.PolicyStatement({
      sid: 'ReadAtlasCredentials',
      actions: ['secretsmanager:GetSecretValue'],
      resources: [secretArn(stack, settings.atlasCredentialsSecret)],
    }),
  ];
  if (settings.atlasCredentialsKmsKeyArn !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'DecryptAtlasCredentials',
        actions: ['kms:Decrypt'],
        resources: [settings.atlasCredentialsKmsKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${stack.region}.${stack.urlSuffix}` } },
      }),
    );
  }
  if (settings.crossAccountRoleName !== undefined) {
    statements.push(assumeCrossAccountRoleStatement(stack, settings.crossAccountRoleName, settings.allowedAccountIds));
  }
  return statements;
}

/**
 * Returns the statement that allows assuming the role of this name in any account, or only in
 * `allowedAccountIds` when the list is not empty. The functions ignore events from accounts
 * outside that list before they call AssumeRole.
 */
function assumeCrossAccountRoleStatement(stack: Stack, roleName: string, allowedAccountIds: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'AssumeCrossAccountRole',
    actions: ['sts:AssumeRole'],
    resources: [stack.formatArn({ service: 'iam', region: '', account: '*', resource: 'role', resourceName: roleName })],
    conditions: allowedAccountIds.length > 0 ? { StringEquals: { 'aws:ResourceAccount': allowedAccountIds } } : undefined,
  });
}

/** Returns the ARN of every VPC endpoint of the stack's account, in every region. */
function vpcEndpointArn(stack: Stack): string {
  return stack.formatArn({ service: 'ec2', region: '*', resource: 'vpc-endpoint', resourceName: '*' });
}

/** Returns the secret's ARN, with the six random characters that Secrets Manager appends to names. */
function secretArn(stack: Stack, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) {
    return nameOrArn;
  }
  return stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${nameOrArn}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

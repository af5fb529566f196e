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
  return [
    ...readStatements(stack, settings),
    // The sweep sets one key per request, linked after it links an endpoint and repaired after it
    // re-links a failed link. The Null condition rejects a request without tags, which
    // ForAllValues alone would allow.
    new iam.PolicyStatement({
      sid: 'TagLinkedAndRepairedEndpoints',
      actions: ['ec2:CreateTags'],
      resources: [vpcEndpointArn(stack)],
      conditions: {
        'ForAllValues:StringEquals': { 'aws:TagKeys': [LINKED_TAG_KEY, REPAIRED_TAG_KEY] },
        Null: { 'aws:TagKeys': 'false' },
      },
    }),
  ];
}

/** Returns the statements both roles share, which describe endpoints and read the Atlas credentials. */
function readStatements(stack: Stack, settings: LinkerSettings): iam.PolicyStatement[] {
  const statements = [
    new iam.PolicyStatement({
      sid: 'DescribeVpcEndpoints',
      actions: ['ec2:DescribeVpcEndpoints'],
      resources: ['*'],
    }),
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
  return statements;
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

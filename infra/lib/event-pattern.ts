import * as events from 'aws-cdk-lib/aws-events';

/**
 * EventBridge pattern for the CloudTrail records the linker acts on: successful CreateVpcEndpoint
 * calls for endpoint services (every Atlas endpoint service name starts with
 * `com.amazonaws.vpce.`) and every successful DeleteVpcEndpoints call.
 *
 * The main rule and every forwarding rule use it, and events forwarded from another region keep
 * source `aws.ec2`, so the main rule matches them too. template.yaml and infra/sam/forwarder.yaml
 * carry the same pattern, and `checks/test_templates.py` fails when the copies differ.
 */
export const VPC_ENDPOINT_EVENT_PATTERN: events.EventPattern = {
  source: ['aws.ec2'],
  detailType: ['AWS API Call via CloudTrail'],
  detail: {
    eventSource: ['ec2.amazonaws.com'],
    errorCode: [{ exists: false }],
    $or: [
      {
        eventName: ['CreateVpcEndpoint'],
        requestParameters: {
          CreateVpcEndpointRequest: {
            ServiceName: [{ prefix: 'com.amazonaws.vpce.' }],
          },
        },
      },
      {
        eventName: ['DeleteVpcEndpoints'],
      },
    ],
  },
};

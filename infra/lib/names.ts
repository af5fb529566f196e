/** Stack name of the linker, deployed once in the main region. */
export const LINKER_STACK_NAME = 'AtlasPrivateLinkLinker';

/** Returns the stack name of the forwarder deployed in `region`. */
export function forwarderStackName(region: string): string {
  return `AtlasPrivateLinkForwarder-${region}`;
}

/** CloudWatch namespace of the Embedded Metric Format records that the functions write. */
export const METRIC_NAMESPACE = 'AtlasPrivateLinkLinker';

/** Dimension of every metric in METRIC_NAMESPACE. */
export const METRIC_DIMENSION = 'ProjectId';

/** Tag key that the function may put on the endpoints it links, and the only key it may write. */
export const LINKED_TAG_KEY = 'atlas-privatelink-linker:linked';

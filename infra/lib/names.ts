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

/** Tag key that both functions put on the endpoints they link. */
export const LINKED_TAG_KEY = 'atlas-privatelink-linker:linked';

/**
 * Tag key that the reconcile function puts on an endpoint when it re-links a failed link. With
 * LINKED_TAG_KEY, it is the only key that function may write, and linker-events writes only
 * LINKED_TAG_KEY.
 */
export const REPAIRED_TAG_KEY = 'atlas-privatelink-linker:repaired';

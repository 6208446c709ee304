// breakwater/cluster: state shared by the workers of a node:cluster through their primary.
export { ClusterStateStore, clusterState, type ClusterStateOptions } from './cluster-state-store.js';
export { serveClusterState } from './primary-state.js';

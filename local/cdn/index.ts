/**
 * local/cdn: the local CDN, Varnish in front of the local stack standing in for CloudFront:
 * the VCL (stagecast.vcl) and the varnishd starter. bench/ (the audience scenario) and test/
 * (test/support/varnish.ts) start it through this list.
 */
export { findVarnishd, STAGECAST_VCL, startVarnish, type Varnish, type VarnishOptions } from "./varnish.ts";

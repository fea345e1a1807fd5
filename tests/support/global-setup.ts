// Runs once before the suite: nothing to start globally; suites start what they need
// (s3rver, Prism, embedded Postgres) on loopback themselves and stop it afterwards.
export default function setup() {}

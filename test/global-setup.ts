// Vitest global setup: nothing yet beyond a place for shared fixtures.
export default function setup(): void {}

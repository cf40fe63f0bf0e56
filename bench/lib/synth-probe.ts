// Run as its own process by bench/startup.ts: what the CDK synth inside startLocalRuntime costs when cold.
const t0 = performance.now();
const { synthTemplate } = await import('#infra/synth.js');
const t1 = performance.now();
synthTemplate({ stage: 'dev' });
const t2 = performance.now();
console.log(JSON.stringify({ importMs: t1 - t0, synthMs: t2 - t1 }));

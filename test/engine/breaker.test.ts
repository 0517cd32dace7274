// The panel circuit breaker: it must open on a failing panel and, above all, close again once the
// panel answers — a probe that never reports back must not hold the circuit shut for good.
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { systemClock, type Clock } from '../../src/domain/ports.js';
import { PanelBreaker } from '../../src/engine/breaker.js';
import { nullObserver } from '../../src/engine/observer.js';
import { runPass } from '../../src/engine/pass.js';
import { createPanelClient } from '../../src/panel/index.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { createLogger } from '../../src/util/logger.js';
import { World } from '../support/world.js';

describe('PanelBreaker', () => {
  type Step = 'fail' | 'ok' | 'release' | `wait ${number}` | 'acquire' | 'refused';
  const cases: Array<{ name: string; steps: Step[]; state: ReturnType<PanelBreaker['state']> }> = [
    { name: 'stays closed below the threshold', steps: ['fail', 'fail', 'acquire'], state: 'closed' },
    { name: 'opens at the threshold and refuses calls', steps: ['fail', 'fail', 'fail', 'refused'], state: 'open' },
    { name: 'half-open after the cooldown lets one probe through', steps: ['fail', 'fail', 'fail', 'wait 100', 'acquire', 'refused'], state: 'half_open' },
    { name: 'a probe that succeeds closes it', steps: ['fail', 'fail', 'fail', 'wait 100', 'acquire', 'ok', 'acquire', 'acquire'], state: 'closed' },
    { name: 'a probe that fails opens it again for a cooldown', steps: ['fail', 'fail', 'fail', 'wait 100', 'acquire', 'fail', 'refused', 'wait 99', 'refused', 'wait 1', 'acquire'], state: 'half_open' },
    { name: 'a probe never sent is released: the next call may probe', steps: ['fail', 'fail', 'fail', 'wait 100', 'acquire', 'release', 'acquire'], state: 'half_open' },
    { name: 'a wall clock set back while open probes at once, not an hour later', steps: ['fail', 'fail', 'fail', 'refused', 'wait -3600000', 'acquire', 'refused'], state: 'half_open' },
    { name: 'a success resets the count of consecutive failures', steps: ['fail', 'fail', 'ok', 'fail', 'fail', 'acquire'], state: 'closed' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      let now = 1_000;
      const clock: Clock = { now: () => now };
      const breaker = new PanelBreaker({ threshold: 3, cooldownMs: 100 }, clock);
      for (const step of c.steps) {
        if (step === 'fail') breaker.onFailure();
        else if (step === 'ok') breaker.onSuccess();
        else if (step === 'release') breaker.release();
        else if (step === 'acquire') expect(breaker.tryAcquire(), `${c.name}: acquire`).toBe(true);
        else if (step === 'refused') expect(breaker.tryAcquire(), `${c.name}: refused`).toBe(false);
        else now += Number(step.slice(5));
      }
      expect(breaker.state()).toBe(c.state);
    });
  }
});

describe('the breaker in a running daemon', () => {
  let world: World;
  let runtime: Runtime;
  afterEach(async () => {
    await runtime?.close();
    await world?.stop();
  });

  // The panel was down (the circuit opened), then came back with the wrong API key for a while:
  // the half-open probe got a 401. That answer counted as neither success nor failure, so the probe
  // was never released and no call was sent again until the daemon restarted.
  it('a half-open probe answered 401 does not keep the circuit shut once the key is right again', async () => {
    world = await new World({ config: { retry: { baseDelayMs: 1, maxDelayMs: 10, breakerThreshold: 2, breakerCooldownMs: 30 } } }).start();
    const logger = createLogger({ level: 'silent', pretty: false });
    const config = loadConfig({ path: world.configPath, env: {} }).config;
    runtime = createRuntime({ config, logger, clock: systemClock, observer: nullObserver });
    world.addVm({ vmid: 100, name: 'a' });
    world.addVm({ vmid: 101, name: 'b' });
    world.bill(100, 5);
    world.bill(101, 6);
    const pass = (deps = runtime.deps) => runPass(deps, {}, new AbortController().signal);
    const cooldown = () => new Promise((resolve) => setTimeout(resolve, 40));

    world.panel.addFault({ mode: 'status5xx', code: 503, times: 2 });
    expect((await pass()).summary.result).toBe('partial'); // two 503s: the circuit opens

    await cooldown();
    const wrongKey = createPanelClient({ url: config.panel.url, apiKey: `${config.panel.apiKey}-old`, timeoutMs: 2_000, logger });
    try {
      const probed = await pass({ ...runtime.deps, panel: wrongKey });
      expect(probed.summary.actions.ok).toBe(0);
    } finally {
      wrongKey.close();
    }

    await cooldown();
    const healed = await pass();
    expect(healed.summary.result).toBe('success');
    expect(world.panel.table().map((r) => r.name).sort()).toEqual(['a', 'b']);
  });
});

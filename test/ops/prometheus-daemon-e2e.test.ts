// The whole alerting path: the real daemon process syncs the simulators, a real Prometheus
// scrapes it with the shipped rules, drift is injected in the simulators, and the drift
// alert goes pending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type DaemonProcess } from '../support/daemon-process.js';
import { closedPort } from '../support/ports.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';
import { World } from '../support/world.js';
import { findTool, missingToolMessage } from './tools.js';

const prometheusBin = findTool('prometheus');

describe.skipIf(!prometheusBin)('alerting on drift, end to end', () => {
  let world: World;
  let daemon: DaemonProcess;
  let prom: RunningPrometheus;

  beforeAll(async () => {
    world = await new World().start();
    const port = await closedPort();
    world.writeConfig({ schedule: '*/2 * * * * *', http: { listen: `127.0.0.1:${port}` } });
    world.addVm({ vmid: 100 });
    world.bill(100, 5);
    daemon = await startDaemon(world.configPath, port);
    await daemon.passAfter(0);
    prom = await startPrometheus(prometheusBin!, [`127.0.0.1:${port}`]);
  }, 60_000);

  afterAll(async () => {
    await prom?.stop();
    await daemon?.stop();
    await world?.stop();
  });

  it('in sync: no drift, no alert', async () => {
    await waitFor('a scrape', async () => ((await prom.query('vpssync_last_success_timestamp_seconds > 0')).length > 0 ? true : undefined));
    expect((await prom.query('sum(vpssync_drift)'))[0]?.value[1]).toBe('0');
    expect((await prom.alerts()).filter((a) => a.labels.alertname === 'VpsSyncDrift')).toEqual([]);
  });

  it('a paid VM the panel cannot receive (panel down) makes VpsSyncDrift go pending', async () => {
    await world.panel.down();
    world.addVm({ vmid: 101, name: 'new-customer' });
    world.bill(101, 6);
    const pending = await waitFor(
      'VpsSyncDrift pending',
      async () => (await prom.alerts()).find((a) => a.labels.alertname === 'VpsSyncDrift' && a.state === 'pending'),
      30_000,
    );
    expect(pending.labels).toMatchObject({ job: 'ospab-vps-sync' });
    expect((await prom.query('vpssync_drift{class="missing_on_panel"}'))[0]?.value[1]).toBe('1');
    expect(prom.log()).not.toMatch(/error loading rules|rule evaluation failed/i);
  });
});
if (!prometheusBin) describe.skip(missingToolMessage('prometheus', 'prometheus'), () => { it('skipped', () => {}); });

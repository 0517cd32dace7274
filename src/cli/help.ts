// The text of --help, kept next to nothing else so it is easy to keep true.

export const USAGE = `ospab-vps-sync — keeps the OSPAB panel's VPS list equal to what runs on Proxmox and VMware

Usage: ospab-vps-sync <command> [options]

Commands:
  run                      Run the daemon: a pass now, then on the schedule; SIGHUP = full resync
  once [--full] [--force]  Run one pass and exit (0 = it did all it could, 1 = something failed;
                           what waits for a person — ambiguous, held, rejected — is in "status")
  plan [--json] [--full]   Dry run: show what a pass would send (0 = nothing to send, 2 = changes,
                           1 = error, or a source, billing or an offline node's guests could not
                           be read; held deletes and ambiguous creates are listed, not counted)
  status [--json]          Last passes, sources, billing, outbox and snapshot counts
  check-config             Validate the config, read the CA files it names, and print it with
                           secrets masked (78 = invalid, or a CA file missing or not PEM)
  resync [--full] [--force] [--local]
                           Ask the running daemon for a pass (POST /resync); --local runs it here
                           when no daemon is running
  resolve <source>/<vm id> (--panel-id N | --recreate | --forget)
                           Settle a create whose outcome is unknown (see "status"):
                             --panel-id N  it did reach the panel as VPS #N: adopt it
                             --recreate    it did not: send it again on the next pass
                             --forget      drop what is known locally about this VM (the next
                                           pass creates it again if it still runs and is billed)
  rename-source <old> <new>
                           The config's source <old> is now called <new>: move its VPSes over (the
                           daemon refuses to start until then, or each VM would be created again)
  forget-source <name>     Source <name> was removed from the config for good: forget its VPSes
                           (they stay on the panel, no longer managed)

Options:
  -c, --config <file>      Config file (default: $OSPAB_VPS_SYNC_CONFIG or /etc/ospab-vps-sync/config.yaml)
      --json               Machine-readable output (plan, status)
      --full               Full resync: re-send every desired VPS
      --force              once, resync: send the held deletes — lift guards.maxDeletesPerPass /
                           maxDeleteFraction on every source for this one pass (never the
                           missing-passes rule); check "plan" first
  -h, --help               This help
  -v, --version            Print the version

Environment: OSPAB_PANEL_URL, VPS_SYNC_API_KEY, BILLING_DATABASE_URL, VPS_SYNC_ADMIN_TOKEN,
<SOURCE>_TOKEN_SECRET / <SOURCE>_PASSWORD; each also as <NAME>_FILE or a systemd credential.
Each command needs only the secrets it uses: status, resolve, rename-source, forget-source and
check-config none, resync the admin token, plan the sources' and billing's; the others all.

Exit codes: 0 ok, 1 failure, 2 plan has changes, 64 usage, 75 state file in use, 78 bad config
(or a source renamed or removed, or a state file that is not one, is damaged or is from a newer
version).
`;

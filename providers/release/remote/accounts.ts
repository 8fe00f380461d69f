/**
 * The accounts of the management instance, written once: the boot script (components/userData.ts)
 * creates them and grants them what the remote phase (commands.ts) expects.
 *
 *  - DEPLOY_USER runs the remote phase (SSH logs in as it; over SSM the root agent drops to it
 *    with `runuser`). It owns appDir and releases/ and writes the static root; sudo lets it only
 *    reload/restart the app unit and run commands as the inspection account.
 *  - INSPECT_USER runs the candidate version's code during an inspection (`pulumi preview`): it
 *    can write only its workspace (INSPECT_DIR), reads the database with a read-only role
 *    (INSPECT_ENV_FILE), cannot reach the instance metadata service (so not the instance
 *    role's credentials nor the stack's parameters), and runs in a mount namespace of its own
 *    where the static root is an empty read-only directory (INSPECT_WRAPPER): through the EFS
 *    access point every local account would write it as the app user.
 */
import { RELEASE_DEFAULTS } from "../../../settings/schema";

/** release:sshUser's default: the SSH transport logs in as the same account. */
export const DEPLOY_USER = RELEASE_DEFAULTS.sshUser;
export const INSPECT_USER = "fleet-inspect";
export const INSPECT_DIR = "/var/lib/fleet-inspect";
/** On tmpfs, written at boot from SSM (INSPECT_DATABASE_URL), readable by INSPECT_USER only. */
export const INSPECT_ENV_FILE = "/run/fleet-inspect/env";
/** The root-owned script that runs a command as INSPECT_USER with the static root hidden (components/releaseAccounts.ts). */
export const INSPECT_WRAPPER = "/usr/local/sbin/django-fleet-as-inspect";
/** How the deploy account runs a command as the inspection account. */
export const INSPECT_AS = `sudo -n ${INSPECT_WRAPPER} --`;

/**
 * The static root's mount on an instance (pure): EFS through the stack's access point, over TLS
 * with IAM authorisation, read-write on the management instance and read-only elsewhere. The
 * boot script (userData.ts) installs the script as MOUNT_STATIC_SCRIPT and runs it at every boot
 * (django-fleet-static.service).
 */

/** This instance's role (management or web), written at every boot from its Role tag. */
export const ROLE_FILE = "/etc/django-app/role";
/** A shell expression for the role: the file's (DJANGO_FLEET_ROLE_FILE in tests), web when unreadable. */
export const READ_ROLE = `$(cat "\${DJANGO_FLEET_ROLE_FILE:-${ROLE_FILE}}" 2>/dev/null || echo web)`;

/** Mounts the static root with the options of this instance's role, at every boot. */
export const MOUNT_STATIC_SCRIPT = "/usr/local/sbin/django-fleet-mount-static";

/** The EFS mount options of a role: TLS, IAM, the access point; read-only unless management. */
export function staticMountOptions(accessPointId: string, role: "web" | "management"): string {
    return `tls,iam,accesspoint=${accessPointId},noresvport${role === "management" ? "" : ",ro"}`;
}

/**
 * The script django-fleet-static.service runs at every boot: mounts the file system at the
 * static root with the options of the role in the role file (web, read-only, when unreadable);
 * a mount with the other role's options (a release AMI's) is replaced.
 */
export function renderMountStaticScript(o: { readonly fileSystemId: string; readonly accessPointId: string; readonly staticRoot: string }): string {
    if (!/^fs-[0-9a-f]{8,40}$/.test(o.fileSystemId)) throw new Error(`renderMountStaticScript: fileSystemId "${o.fileSystemId}" is not an EFS file system id`);
    if (!/^fsap-[0-9a-f]{8,40}$/.test(o.accessPointId)) throw new Error(`renderMountStaticScript: accessPointId "${o.accessPointId}" is not an EFS access point id (fsap-...)`);
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(o.staticRoot)) throw new Error(`renderMountStaticScript: staticRoot "${o.staticRoot}" is not a plain absolute path`);
    return `#!/bin/bash
set -euo pipefail
role=${READ_ROLE}
if [ "$role" = management ]; then want=rw opts=${staticMountOptions(o.accessPointId, "management")}; else want=ro opts=${staticMountOptions(o.accessPointId, "web")}; fi
if mountpoint -q ${o.staticRoot}; then
  case ",$(findmnt -n -o OPTIONS --mountpoint ${o.staticRoot})," in *,ro,*) have=ro ;; *) have=rw ;; esac
  if [ "$have" = "$want" ]; then exit 0; fi
  umount ${o.staticRoot}
fi
mount -t efs -o "$opts" ${o.fileSystemId}:/ ${o.staticRoot}`;
}

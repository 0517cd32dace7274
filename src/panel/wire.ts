// The request bodies of `POST /api/vps/sync`, exactly as PANEL_API.md specifies them.
import type { PanelFields } from '../domain/types.js';

/** `{"action":"create","vps":{user_id,name,cpu,ram,disk,os,status,hypervisor}}` (ram in MB, disk in GB). */
export function createBody(f: PanelFields) {
  return {
    action: 'create' as const,
    vps: { user_id: f.user_id, name: f.name, cpu: f.cpu, ram: f.ram, disk: f.disk, os: f.os, status: f.status, hypervisor: f.hypervisor },
  };
}

/** Update: the documented use is `id` + `status`; the other fields are sent too, the panel may ignore them. */
export function updateBody(id: number, f: PanelFields) {
  return {
    action: 'update' as const,
    vps: { id, status: f.status, name: f.name, cpu: f.cpu, ram: f.ram, disk: f.disk, os: f.os, hypervisor: f.hypervisor, user_id: f.user_id },
  };
}

/** `{"action":"delete","vps":{"id":N}}`: a hard delete on the panel. */
export function deleteBody(id: number) {
  return { action: 'delete' as const, vps: { id } };
}

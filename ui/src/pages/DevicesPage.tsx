import { useEdgeDevices, usePeripherals } from "../api/queries";
import { text, time } from "../components/fmt";
import { Panel } from "../components/Panel";
import { QueryState } from "../components/QueryState";
import { RegisterDevice } from "../components/RegisterDevice";

export default function DevicesPage() {
  const devices = useEdgeDevices();
  const peripherals = usePeripherals();
  return (
    <div className="page" data-testid="page-devices">
      <Panel title="Edge devices">
        <QueryState query={devices} isEmpty={(d) => d.length === 0} empty="No edge devices registered.">
          {(rows) => (
            <table className="table" data-testid="edge-devices">
              <thead>
                <tr>
                  <th>ID</th>
                  <th>Name</th>
                  <th>Kind</th>
                  <th>Robot</th>
                  <th>Address</th>
                  <th>Capabilities</th>
                  <th>Registered</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <tr key={d.id}>
                    <td>{d.id}</td>
                    <td>{d.name}</td>
                    <td>{d.kind}</td>
                    <td>{text(d.robot_id)}</td>
                    <td>{text(d.address)}</td>
                    <td>{Object.keys(d.capabilities).join(", ") || "—"}</td>
                    <td>{time(d.registered_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </QueryState>
      </Panel>
      <Panel title="Peripherals">
        <QueryState query={peripherals} isEmpty={(d) => d.length === 0} empty="No peripherals registered.">
          {(rows) => (
            <table className="table" data-testid="peripherals">
              <thead>
                <tr>
                  <th>ID</th>
                  <th>Name</th>
                  <th>Kind</th>
                  <th>Robot</th>
                  <th>Edge device</th>
                  <th>Interface</th>
                  <th>Settings</th>
                  <th>Registered</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((p) => (
                  <tr key={p.id}>
                    <td>{p.id}</td>
                    <td>{p.name}</td>
                    <td>{p.kind}</td>
                    <td>{text(p.robot_id)}</td>
                    <td>{text(p.edge_device_id)}</td>
                    <td>{text(p.interface)}</td>
                    <td className="cause">{Object.entries(p.config).map(([k, v]) => `${k}: ${String(v)}`).join(", ") || "—"}</td>
                    <td>{time(p.registered_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </QueryState>
      </Panel>
      <RegisterDevice />
    </div>
  );
}

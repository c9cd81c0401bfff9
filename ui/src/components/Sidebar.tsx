import { NavLink } from "react-router";

const PAGES = [
  { to: "/dashboard", label: "Dashboard" },
  { to: "/skills", label: "Skills" },
  { to: "/safety", label: "Safety" },
  { to: "/observability", label: "Observability" },
  { to: "/devices", label: "Devices" },
  { to: "/training", label: "Training" },
];

export function Sidebar() {
  return (
    <nav className="sidebar" data-testid="sidebar" aria-label="Pages">
      {PAGES.map((p) => (
        <NavLink key={p.to} to={p.to} className={({ isActive }) => (isActive ? "nav active" : "nav")}>
          {p.label}
        </NavLink>
      ))}
    </nav>
  );
}

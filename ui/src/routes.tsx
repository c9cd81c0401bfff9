// Routes: one lazily loaded chunk per page.
import { createBrowserRouter, Navigate, type RouteObject } from "react-router";
import { Layout } from "./components/Layout";
import { RouteError } from "./components/RouteError";

const page = (load: () => Promise<{ default: React.ComponentType }>) => async () => ({ Component: (await load()).default });

export const routes: RouteObject[] = [
  {
    path: "/",
    element: <Layout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <Navigate to="/dashboard" replace /> },
      { path: "dashboard", lazy: page(() => import("./pages/DashboardPage")) },
      { path: "skills", lazy: page(() => import("./pages/SkillsPage")) },
      { path: "safety", lazy: page(() => import("./pages/SafetyPage")) },
      { path: "observability", lazy: page(() => import("./pages/ObservabilityPage")) },
      { path: "devices", lazy: page(() => import("./pages/DevicesPage")) },
      { path: "training", lazy: page(() => import("./pages/TrainingPage")) },
      { path: "teleop", lazy: page(() => import("./pages/TeleopPage")) },
      { path: "*", element: <Navigate to="/dashboard" replace /> },
    ],
  },
];

export const createRouter = () => createBrowserRouter(routes);

import { isRouteErrorResponse, Link, useRouteError } from "react-router";

export function RouteError() {
  const error = useRouteError();
  const message = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : error instanceof Error ? error.message : String(error);
  return (
    <div className="route-error" role="alert">
      <h1>Something went wrong</h1>
      <p>{message}</p>
      <Link to="/dashboard">Back to the dashboard</Link>
    </div>
  );
}

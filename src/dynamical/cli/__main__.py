from dynamical.cli import app

app()

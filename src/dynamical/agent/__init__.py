"""The robot agent: runs execution plans on one robot (plan runner) and, later, links the robot
to the server. It sits above ``orchestration`` (plans) and ``skills`` (the executor)."""

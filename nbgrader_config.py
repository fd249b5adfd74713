"""nbgrader configuration for the course.

nbgrader only reads this file from the working directory, so every path is pinned
to the folder this file lives in: commands work from the repository root, and the
course's own tools load this file explicitly.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.course_id = "logging-for-ml"

# The gradebook lives in an ignored folder so a clone never carries grades.
(HERE / ".nbgrader").mkdir(exist_ok=True)
c.CourseDirectory.db_url = f"sqlite:///{HERE / '.nbgrader' / 'gradebook.db'}"

# Student code gets a bounded time per cell; kernels are stopped at once afterwards.
c.ExecutePreprocessor.timeout = 30
c.ExecutePreprocessor.shutdown_kernel = "immediate"
c.Execute.timeout = 30

# A student who deletes a test cell still gets graded: nbgrader puts the cell back.
c.OverwriteCells.add_missing_cells = True

# Releases carry no outputs; grading records what the code printed.
c.ClearOutput.enabled = True

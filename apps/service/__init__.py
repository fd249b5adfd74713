"""The grade_predictor prediction service: FastAPI + uvicorn, logging through structlog as JSON."""

"""The AWS Batch training container (entry point: ``python -m training_image.train``)."""

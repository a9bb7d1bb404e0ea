# The evaluation image. Included by the top-level Makefile (`include docker/image.mk`).
#
#   make image [VARIANT=cpu|cuda]   build esr-validator:<variant>-<content hash> if missing
#   make base-image                 the local bookworm base of the CPU variant (debootstrap)
#   make wheelhouse [VARIANT=...]   download the lock's files into .cache/wheelhouse/<variant>
#   make image-tag [VARIANT=...]    print the tag the current sources give
#   make lock                       re-lock docker/requirements-*.lock from the .in files
#   make image-prune [VARIANT=...]  remove the images of older sources
#
# The CPU image builds with no network at all once the base image and wheelhouse exist.
# The CUDA image needs the network once, for the base image and apt's python3 (organizers).

VARIANT ?= cpu
BIN     ?= .venv/bin

.PHONY: image base-image wheelhouse image-tag lock image-prune

image: wheelhouse $(if $(filter cpu,$(VARIANT)),base-image)
	$(BIN)/python -m esr_validator.runners.image build --variant $(VARIANT)

base-image:
	scripts/make_base_image.sh

wheelhouse:
	PYTHON=$(BIN)/python scripts/make_wheelhouse.sh $(VARIANT)

image-tag:
	@$(BIN)/python -m esr_validator.runners.image tag --variant $(VARIANT)

lock:
	$(BIN)/python scripts/lock_requirements.py --variant all

# Images of older sources pile up (each differs only in its harness layer): remove all but
# the current tag of VARIANT.
image-prune:
	@current="$$($(BIN)/python -m esr_validator.runners.image tag --variant $(VARIANT))"; \
	docker images esr-validator --format '{{.Repository}}:{{.Tag}}' \
	  | grep "^esr-validator:$(VARIANT)-" | grep -vx "$$current" | xargs -r docker rmi

package dev.shmesh.gateway;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.Readiness;

/** The gateway is ready once at least one worker serves the mesh port. */
@Readiness
@ApplicationScoped
public class WorkersReadyCheck implements HealthCheck {
    @Inject
    Gateway gateway;

    @Override
    public HealthCheckResponse call() {
        return HealthCheckResponse.named("workers").status(gateway.anyWorkerReady()).build();
    }
}

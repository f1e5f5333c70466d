package deployment

// ProjectDeletedMessage is the error of the deployments a project deletion
// cancels.
const ProjectDeletedMessage = "the project was deleted"

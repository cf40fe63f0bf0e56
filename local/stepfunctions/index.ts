// Local Step Functions: the template's state machines executed in-process, and the API handlers call.
export { functionArn, type LocalStateMachine, readStateMachines, stateMachineArn } from './definitions.js';
export {
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  type ExecutionRecord,
  type FaultPlan,
  LocalExecutions,
  StateMachineDoesNotExist,
  type TaskInvoker,
} from './executions.js';
export { type StepFunctionsServer, startStepFunctionsServer } from './server.js';
